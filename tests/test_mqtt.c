/* test_mqtt.c - the broker URL (tpd_mqtt_parse_url):
 * the forms SPEC §1 names, IPv6, and what is refused. */
#include "testutil.h"
#include "tpd/mqtt.h"

static void test_mqtt_url(void **state)
{
	char host[64];
	int port = 0;
	bool tls = true;
	static const char *const bad[] = {
		"http://x:1883", "mqtt://x", "mqtt://x:0", "mqtt://x:65536", "mqtt://x:18a3",
		"mqtt://:1883", "mqtt://u:p@x:1883", "mqtt://x:1883/topic", "mqtt://x:1883?a=b",
		"mqtt://x:1883#f", "x:1883", "", "mqtt://x:", "mqtt://x:188300", "mqtt://[::1]",
		"mqtt://[zz::1]:1883", "mqtt://[]:1883", "mqtt://x y:1883", "mqtt://x:1883//", "mqtt://a-host-name-longer-than-the-buffer-given-"
		"to-the-parser-here.example:1883", NULL,
	};

	(void)state;
	assert_int_equal(tpd_mqtt_parse_url("mqtt://127.0.0.1:1883", host, sizeof(host), &port, &tls),
			 TPD_OK);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 1883);
	assert_false(tls);
	assert_int_equal(tpd_mqtt_parse_url("mqtts://broker.example:8883/", host, sizeof(host),
					    &port, &tls), TPD_OK);
	assert_string_equal(host, "broker.example");
	assert_int_equal(port, 8883);
	assert_true(tls);
	assert_int_equal(tpd_mqtt_parse_url("mqtt://[::1]:1883", host, sizeof(host), &port, &tls),
			 TPD_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(tpd_mqtt_parse_url("MQTTS://Broker-1.example:8883", host, sizeof(host),
					    &port, &tls), TPD_OK);
	assert_string_equal(host, "Broker-1.example");
	assert_true(tls);
	for (int i = 0; bad[i]; i++) {
		if (tpd_mqtt_parse_url(bad[i], host, sizeof(host), &port, &tls) == TPD_OK)
			fail_msg("accepted %s", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mqtt_url),
	};
	return cmocka_run_group_tests_name("mqtt", tests, NULL, NULL);
}
