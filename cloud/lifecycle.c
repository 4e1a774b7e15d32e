/*
 * lifecycle.c - the transition table (see lifecycle.h).
 */
#include <stdio.h>
#include <string.h>

#include "tpd/jsonfile.h"
#include "lifecycle.h"

const char *const tpc_claim_states[] = {
	"open", "in_review", "approved", "rejected", "remote_guidance", "repair_scheduled",
	"replacement", "resolved", "closed", NULL
};

static const struct lifecycle_edge {
	const char *from;
	const char *const to[4];
} lifecycle_edges[] = {
	{ "open", { "in_review", NULL } },
	{ "in_review", { "approved", "rejected", NULL } },
	{ "approved", { "remote_guidance", "repair_scheduled", "replacement", NULL } },
	{ "remote_guidance", { "resolved", "repair_scheduled", "replacement", NULL } },
	{ "repair_scheduled", { "resolved", NULL } },
	{ "replacement", { "resolved", NULL } },
	{ "resolved", { "closed", NULL } },
};

bool tpc_claim_state_valid(const char *s)
{
	return tpd_str_in_set(s, tpc_claim_states);
}

bool tpc_claim_state_open(const char *s)
{
	static const char *const done[] = { "resolved", "closed", "rejected", NULL };

	return tpc_claim_state_valid(s) && !tpd_str_in_set(s, done);
}

bool tpc_claim_feedback_allowed(const char *state)
{
	static const char *const ok[] = { "resolved", "closed", NULL };

	return tpd_str_in_set(state, ok);
}

static const struct lifecycle_edge *lifecycle_edge(const char *from)
{
	for (size_t i = 0; from && i < sizeof(lifecycle_edges) / sizeof(lifecycle_edges[0]); i++) {
		if (strcmp(lifecycle_edges[i].from, from) == 0)
			return &lifecycle_edges[i];
	}
	return NULL;
}

const char *const *tpc_lifecycle_targets(const char *s)
{
	static const char *const none[] = { NULL };
	const struct lifecycle_edge *e = lifecycle_edge(s);

	return e ? e->to : none;
}

void tpc_lifecycle_next(const char *s, char *buf, size_t len)
{
	const struct lifecycle_edge *e = lifecycle_edge(s);
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; e && e->to[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", e->to[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

enum tpd_err tpc_lifecycle_check(const char *from, const char *to, char *why, size_t len)
{
	const struct lifecycle_edge *e = lifecycle_edge(from);
	char next[128];

	if (!tpc_claim_state_valid(to)) {
		snprintf(why, len, "\"%.40s\" is not a claim state (states: open, in_review, approved, "
			 "rejected, remote_guidance, repair_scheduled, replacement, resolved, closed)",
			 to ? to : "");
		return TPD_ERR_INVAL;
	}
	if (e && tpd_str_in_set(to, e->to))
		return TPD_OK;
	tpc_lifecycle_next(from, next, sizeof(next));
	if (next[0])
		snprintf(why, len, "cannot go from %s to %s; allowed from %s: %s", from, to, from, next);
	else
		snprintf(why, len, "cannot go from %s to %s; %s is final", from, to, from);
	return TPD_ERR_STATE;
}
