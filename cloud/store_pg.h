/*
 * store_pg.h - what the PostgreSQL backend shows beyond its ops tables: its
 * statements, for the test that checks query plans (test_store.c).
 */
#ifndef TPC_STORE_PG_H
#define TPC_STORE_PG_H

/* Statement i's name, SQL text and parameter types (when i is below the
 * count; one letter a parameter: t text, i bigint, 4 integer, f double,
 * b bytea); returns the number of statements the backend prepares. */
unsigned tpc_store_pg_statements(const char **name, const char **sql, const char **types,
				 unsigned i);

#endif
