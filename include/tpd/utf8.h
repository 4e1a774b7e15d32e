/*
 * utf8.h - text from outside (devices, API users) checked before it is
 * stored and escaped before it is printed.
 *
 * Validation is RFC 3629 strict: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. "Clean"
 * text is valid UTF-8 without control characters: C0 (U+0000..U+001F), DEL
 * and C1 (U+0080..U+009F, which some terminals obey as escapes); notes may
 * allow line breaks and tabs.
 *
 * tpd_esc makes any bytes safe for one log line or a terminal: printable
 * ASCII and valid non-control UTF-8 pass, a backslash doubles, everything
 * else becomes \xNN. A device-supplied "\n tpcollect: opened claim ..." then
 * stays on the line it came in on. No allocation, no global state.
 */
#ifndef TPD_UTF8_H
#define TPD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Allowed in tpd_utf8_clean: line feed, carriage return and tab. */
#define TPD_UTF8_ALLOW_NEWLINES 1u

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid or cut
 * short by len; *cp gets the code point. */
size_t tpd_utf8_seq(const unsigned char *s, size_t len, unsigned long *cp);

/* True when s[0..len) is valid UTF-8 (a NUL byte is valid UTF-8; check
 * cleanliness for that). */
bool tpd_utf8_valid(const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 without control characters (flags:
 * TPD_UTF8_ALLOW_NEWLINES). On false, *bad_at (if not NULL) gets the byte
 * offset of the first offence. */
bool tpd_utf8_clean(const char *s, size_t len, unsigned flags, size_t *bad_at);

/* Writes s, escaped as above and NUL-terminated, into out (cap >= 1 bytes),
 * truncating at a character boundary. Returns out, so it can sit in a printf
 * argument list. s NULL prints as "". */
const char *tpd_esc(char *out, size_t cap, const char *s);

/* The same for a terminal, keeping line breaks: a malloc'ed copy of s with
 * each line escaped (caller frees; NULL when out of memory). */
char *tpd_esc_lines(const char *s);

/* True when tpd_esc_lines would change s (anything but printable text and
 * "\n"). */
bool tpd_esc_needed(const char *s);

#endif
