/*
 * workcal.h - a region's business calendar (working hours, working weekdays,
 * holidays, make-up working days, standard offset and EU summer time) and
 * working-time arithmetic on it: when a claim's review is due ("2 working
 * days" = 2 x tpc_workcal_day_seconds, counted in the region's working
 * hours) and how much working time is left before then.
 *
 * One JSON file per region (cloud/calendars/CN.json is region "CN"); the
 * format is described in workcal.c. All instants are Unix seconds UTC; a
 * "local day" is days since 1970-01-01 of the region's civil calendar.
 * Instants are clamped to 1900-01-01..9999-12-31 (the dates tpc_date_parse
 * knows), so nothing overflows. No global state: a calendar is immutable
 * once parsed and may be read from any thread.
 */
#ifndef TPC_WORKCAL_H
#define TPC_WORKCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Give-up horizon of tpc_workcal_add: this many consecutive non-working
 * local days (ten years) and the calendar is taken to never work again. */
#define TPC_WORKCAL_MAX_IDLE_DAYS 3660

struct tpc_workcal;

/* Parses one calendar from text; name is the region (e.g. "CN",
 * [A-Za-z0-9_-]{1,64}) and labels the errors. Returns NULL with one line in
 * err on error (the caller owns the result: tpc_workcal_free). */
struct tpc_workcal *tpc_workcal_parse(const char *name, const char *text, size_t len,
				      char *err, size_t errlen);
/* Reads a file; the region is its base name without ".json". Errors are
 * labelled with the path ("cloud/calendars/CN.json: working_hours[1]: ..."). */
struct tpc_workcal *tpc_workcal_load(const char *path, char *err, size_t errlen);
void tpc_workcal_free(struct tpc_workcal *c);

const char *tpc_workcal_region(const struct tpc_workcal *c);
const char *tpc_workcal_time_zone(const struct tpc_workcal *c);
/* Sum of the working_hours intervals, e.g. 8 h = 28800. */
int64_t tpc_workcal_day_seconds(const struct tpc_workcal *c);
/* Seconds east of UTC at t_s (standard offset, +3600 in EU summer time). */
int tpc_workcal_utc_offset(const struct tpc_workcal *c, int64_t t_s);
/* A make-up working day is worked, else a holiday is not, else the weekday
 * decides. */
bool tpc_workcal_is_working_day(const struct tpc_workcal *c, int64_t local_days);

/*
 * The moment work_s working seconds after t_s. t_s outside working hours
 * counts from the next working interval's start; work_s <= 0 returns the
 * next moment inside working time, or t_s itself if inside. An amount that
 * ends exactly at an interval's end returns that end (18:00, not the next
 * morning). INT64_MAX when TPC_WORKCAL_MAX_IDLE_DAYS consecutive local days
 * are not worked, or the result would pass year 9999.
 */
int64_t tpc_workcal_add(const struct tpc_workcal *c, int64_t t_s, int64_t work_s);
/* Working seconds in [from_s, to_s); 0 if to_s <= from_s. Linear in the
 * number of days between them. */
int64_t tpc_workcal_between(const struct tpc_workcal *c, int64_t from_s, int64_t to_s);

/* A set of calendars: every *.json in a directory, looked up by region. */
struct tpc_workcals;
/* Any bad file fails the whole load (NULL + err); an empty directory is an
 * empty set. The caller owns the result (tpc_workcals_free). */
struct tpc_workcals *tpc_workcals_load_dir(const char *dir, char *err, size_t errlen);
/* NULL if none; case-sensitive. The calendar lives as long as s. */
const struct tpc_workcal *tpc_workcals_find(const struct tpc_workcals *s, const char *region);
size_t tpc_workcals_count(const struct tpc_workcals *s);
/* The i-th calendar in region order (i < count). */
const struct tpc_workcal *tpc_workcals_at(const struct tpc_workcals *s, size_t i);
void tpc_workcals_free(struct tpc_workcals *s);

#endif
