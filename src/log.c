/*
 * log.c - process-wide log destination (tpd/log.h): the state, opening and
 * reopening it, and formatting one line.
 *
 * Design notes:
 * 1. One mutex guards the destination and every write, so a line from an
 *    HTTP thread never interleaves with one from the ingest thread, and a
 *    reopen (SIGHUP, from the main loop) never races a write.
 * 2. A line is formatted whole into a buffer and written with one fputs +
 *    fflush: a file opened O_APPEND gets whole lines even when two
 *    processes share it. Lines longer than the buffer are cut, never split.
 * 3. This is the one piece of process-wide mutable state outside main():
 *    like curl_global_init, it is set up by main() and belongs to the
 *    process, not to any instance of the agent core.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tpd/log.h"

#define LOG_LINE_MAX 2048

enum log_kind { LOGK_PLAIN, LOGK_STDERR, LOGK_SYSLOG, LOGK_FILE };

static struct {
	pthread_mutex_t lock;
	enum log_kind kind;
	enum tpd_log_level level;
	char program[64];
	char path[1024];
	FILE *file;
} log_state = { PTHREAD_MUTEX_INITIALIZER, LOGK_PLAIN, TPD_LOG_INFO, "", "", NULL };

static const char *const log_level_names[] = { "error", "warn", "info", "debug" };

static FILE *log_file_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "a");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static void log_close_locked(void)
{
	if (log_state.kind == LOGK_FILE && log_state.file)
		fclose(log_state.file);
	if (log_state.kind == LOGK_SYSLOG)
		closelog();
	log_state.file = NULL;
	log_state.path[0] = '\0';
	log_state.kind = LOGK_PLAIN;
}

enum tpd_err tpd_log_open(const char *program, const char *dest, char *err, size_t errlen)
{
	FILE *f = NULL;
	enum log_kind kind;

	if (!dest || !*dest || strcmp(dest, "stderr") == 0) {
		kind = LOGK_STDERR;
	} else if (strcmp(dest, "syslog") == 0) {
		kind = LOGK_SYSLOG;
	} else {
		if (strlen(dest) >= sizeof(log_state.path)) {
			snprintf(err, errlen, "log file path too long");
			return TPD_ERR_INVAL;
		}
		f = log_file_open(dest, err, errlen);
		if (!f)
			return TPD_ERR_INVAL;
		kind = LOGK_FILE;
	}
	pthread_mutex_lock(&log_state.lock);
	log_close_locked();
	snprintf(log_state.program, sizeof(log_state.program), "%s", program);
	log_state.kind = kind;
	log_state.file = f;
	if (kind == LOGK_FILE)
		snprintf(log_state.path, sizeof(log_state.path), "%s", dest);
	if (kind == LOGK_SYSLOG)
		openlog(log_state.program, LOG_PID, LOG_DAEMON);
	pthread_mutex_unlock(&log_state.lock);
	return TPD_OK;
}

enum tpd_err tpd_log_reopen(char *err, size_t errlen)
{
	enum tpd_err rc = TPD_OK;
	char path[sizeof(log_state.path)];
	FILE *f;

	pthread_mutex_lock(&log_state.lock);
	if (log_state.kind != LOGK_FILE) {
		pthread_mutex_unlock(&log_state.lock);
		return TPD_OK;
	}
	memcpy(path, log_state.path, sizeof(path));
	f = log_file_open(path, err, errlen);
	if (f) {
		fclose(log_state.file);
		log_state.file = f;
	} else {
		rc = TPD_ERR_IO;
	}
	pthread_mutex_unlock(&log_state.lock);
	return rc;
}

void tpd_log_close(void)
{
	pthread_mutex_lock(&log_state.lock);
	log_close_locked();
	pthread_mutex_unlock(&log_state.lock);
}

const char *tpd_log_dest(void)
{
	switch (log_state.kind) {
	case LOGK_SYSLOG: return "syslog";
	case LOGK_FILE: return log_state.path;
	default: return "stderr";
	}
}

bool tpd_log_level_parse(const char *s, enum tpd_log_level *out)
{
	for (int i = 0; i <= TPD_LOG_DEBUG; i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum tpd_log_level)i;
			return true;
		}
	}
	return false;
}

void tpd_log_set_level(enum tpd_log_level level)
{
	pthread_mutex_lock(&log_state.lock);
	log_state.level = level;
	pthread_mutex_unlock(&log_state.lock);
}

/* "2026-12-02T16:40:00.123Z" into buf (at least 25 bytes). */
static void log_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void log_vwrite(const char *program, enum tpd_log_level level, const char *component,
		       const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[LOG_LINE_MAX], when[32];
	FILE *out;

	if (level > TPD_LOG_DEBUG)
		level = TPD_LOG_DEBUG;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&log_state.lock);
	if (level > log_state.level) {
		pthread_mutex_unlock(&log_state.lock);
		return;
	}
	switch (log_state.kind) {
	case LOGK_PLAIN:
		fprintf(stderr, "%s: %s\n", program && *program ? program : component, msg);
		break;
	case LOGK_SYSLOG:
		syslog(prio[level], "[%s] %s", component, msg);
		break;
	case LOGK_STDERR:
	case LOGK_FILE:
		out = log_state.kind == LOGK_FILE ? log_state.file : stderr;
		log_time(when, sizeof(when));
		fprintf(out, "%s %-5s %-9s %s: %s\n", when, log_level_names[level], component,
			log_state.program, msg);
		fflush(out);
		break;
	}
	pthread_mutex_unlock(&log_state.lock);
}

void tpd_log(enum tpd_log_level level, const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(NULL, level, component, fmt, ap);
	va_end(ap);
}

void tpd_log_as(const char *program, enum tpd_log_level level, const char *component,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(program, level, component, fmt, ap);
	va_end(ap);
}
