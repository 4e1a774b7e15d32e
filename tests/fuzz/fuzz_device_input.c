/* fuzz_device_input.c - what a device reads from outside: trace files (sim
 * board), cloud commands, JWS envelopes and the broker URL. First byte picks the parser. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpd/jws.h"
#include "tpd/mqtt.h"
#include "tpd/trace.h"
#include "cmd.h"

static void fuzz_trace(const uint8_t *data, size_t size)
{
	FILE *fp = fmemopen((void *)data, size, "r");
	struct tpd_trace *tr;
	double t, v[64];
	char err[256];

	if (!fp || tpd_trace_open_stream(fp, "fuzz", &tr, err, sizeof(err)))
		return;
	for (int i = 0; i < 10000 && tpd_trace_next(tr, &t, v, 64, err, sizeof(err)) == TPD_OK; i++)
		;
	tpd_trace_free(tr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpd_cmd cmd;
	struct tpd_jws jws;
	char why[160], *merged;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (size > 1)
			fuzz_trace(data + 1, size - 1);
		break;
	case 1:
		if (tpd_cmd_parse((const char *)data + 1, size - 1, &cmd, why, sizeof(why)) == TPD_OK &&
		    cmd.op == TPD_CMD_CLAIM && tpd_cmd_claims_merge(NULL, &cmd, 1.0, &merged) == TPD_OK)
			free(merged);
		break;
	case 3: {
		char url[512], host[256];
		size_t n = size - 1 < sizeof(url) - 1 ? size - 1 : sizeof(url) - 1;
		int port;
		bool tls;

		memcpy(url, data + 1, n);
		url[n] = '\0';
		if (tpd_mqtt_parse_url(url, host, sizeof(host), &port, &tls) == TPD_OK &&
		    (port < 1 || port > 65535 || !host[0]))
			abort();
		break;
	}
	default:
		if (tpd_jws_decode((const char *)data + 1, size - 1, &jws) == TPD_OK)
			tpd_jws_clear(&jws);
	}
	return 0;
}
