/*
 * utf8.c - UTF-8 validation and log/terminal escaping (see tpd/utf8.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/utf8.h"

size_t tpd_utf8_seq(const unsigned char *s, size_t len, unsigned long *cp)
{
	unsigned long c, min;
	size_t n;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, c = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, c = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, c = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;   /* continuation byte, C0/C1 lead (overlong) or F5..FF */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool tpd_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;

	for (size_t i = 0; i < len;) {
		size_t n = tpd_utf8_seq(p + i, len - i, &cp);

		if (!n)
			return false;
		i += n;
	}
	return true;
}

static bool utf8_control(unsigned long cp, unsigned flags)
{
	if ((flags & TPD_UTF8_ALLOW_NEWLINES) && (cp == '\n' || cp == '\r' || cp == '\t'))
		return false;
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

bool tpd_utf8_clean(const char *s, size_t len, unsigned flags, size_t *bad_at)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;

	for (size_t i = 0; i < len;) {
		size_t n = tpd_utf8_seq(p + i, len - i, &cp);

		if (!n || utf8_control(cp, flags)) {
			if (bad_at)
				*bad_at = i;
			return false;
		}
		i += n;
	}
	return true;
}

const char *tpd_esc(char *out, size_t cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)p), o = 0;
	unsigned long cp;

	for (size_t i = 0; i < len;) {
		size_t n = tpd_utf8_seq(p + i, len - i, &cp);

		if (n && !utf8_control(cp, 0) && cp != '\\') {
			if (o + n >= cap)
				break;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else if (n == 1 && cp == '\\') {
			if (o + 2 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else {
			/* one byte at a time: an invalid sequence shows what it was */
			if (o + 4 >= cap)
				break;
			snprintf(out + o, cap - o, "\\x%02x", p[i]);
			o += 4;
			i++;
		}
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return out;
}

bool tpd_esc_needed(const char *s)
{
	size_t n = strlen(s);

	return !tpd_utf8_clean(s, n, TPD_UTF8_ALLOW_NEWLINES, NULL) || memchr(s, '\r', n) ||
	       memchr(s, '\t', n) || memchr(s, '\\', n);
}

char *tpd_esc_lines(const char *s)
{
	size_t n = strlen(s), cap = 4 * n + 1, used = 0;
	char *out = malloc(cap), *line = malloc(n + 1);

	if (!out || !line) {
		free(out);
		free(line);
		return NULL;
	}
	for (const char *p = s;;) {
		size_t len = strcspn(p, "\n");

		memcpy(line, p, len);
		line[len] = '\0';
		tpd_esc(out + used, cap - used, line);
		used += strlen(out + used);
		if (!p[len])
			break;
		out[used++] = '\n';
		p += len + 1;
	}
	out[used] = '\0';
	free(line);
	return out;
}
