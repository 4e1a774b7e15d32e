/*
 * store_sqlite.h - what the SQLite backend shows beyond its ops table: its
 * statements, for the test that checks every query plan (test_store.c).
 */
#ifndef TPC_STORE_SQLITE_H
#define TPC_STORE_SQLITE_H

/* Statement i's name and SQL text (when i is below the count); returns the
 * number of statements the backend prepares. */
unsigned tpc_store_sqlite_statements(const char **name, const char **sql, unsigned i);

#endif
