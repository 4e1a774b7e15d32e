/*
 * tpd/log.h - the programs' log lines: one line per event, with an ISO-8601
 * UTC time, a level and the component, to stderr, syslog or a file.
 *
 *   2026-12-02T16:40:00.123Z info  api       tpcollect: listening on 127.0.0.1:8080
 *
 * The text after the component is "PROGRAM: what happened", as the programs
 * printed before (SPEC §1), so a grep for "tpcollect: cannot store" still
 * finds it. syslog gets "[component] message" (it adds time, host, program).
 *
 * The destination is process-wide: main() opens it once (tpd_log_open), as
 * it calls mosquitto_lib_init; the agent core never logs through it, so the
 * thousands of agents of tpsim share nothing here. Until tpd_log_open is
 * called, tpd_log_as writes the plain "PROGRAM: message" line to stderr it
 * always wrote (tpdiagd, tpsim and the CLIs that do not open a log).
 * Every function is thread-safe (the collector logs from HTTP threads too).
 */
#ifndef TPD_LOG_H
#define TPD_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

enum tpd_log_level {
	TPD_LOG_ERR = 0,    /* something failed and was not retried */
	TPD_LOG_WARN = 1,   /* something failed or looks wrong; it goes on */
	TPD_LOG_INFO = 2,   /* start, stop, notable events */
	TPD_LOG_DEBUG = 3,
};

/*
 * Sends the log lines of this process to dest: "stderr", "syslog" or a file
 * path (appended to, created 0640). program names the lines. Returns
 * TPD_ERR_INVAL with one line in err when dest cannot be opened; the previous
 * destination stays in use then.
 */
enum tpd_err tpd_log_open(const char *program, const char *dest, char *err, size_t errlen);
/* Reopens a log file (after logrotate moved it; SIGHUP). A no-op for stderr
 * and syslog. On failure the old file stays open and err says why. */
enum tpd_err tpd_log_reopen(char *err, size_t errlen);
/* Back to plain stderr; closes the file or syslog. */
void tpd_log_close(void);
/* Where lines go now: "stderr", "syslog" or the file path. */
const char *tpd_log_dest(void);

/* One line at level from component (a short word: "api", "mqtt", "store"). */
__attribute__((format(printf, 3, 4)))
void tpd_log(enum tpd_log_level level, const char *component, const char *fmt, ...);
/* The same for shared code that knows its program's name (src/mqtt.c): used
 * in the plain line when no log is open. */
__attribute__((format(printf, 4, 5)))
void tpd_log_as(const char *program, enum tpd_log_level level, const char *component,
		const char *fmt, ...);

/* Parses "err|warn|info|debug". */
bool tpd_log_level_parse(const char *s, enum tpd_log_level *out);
/* Lines above this level are dropped (default info). */
void tpd_log_set_level(enum tpd_log_level level);

#endif
