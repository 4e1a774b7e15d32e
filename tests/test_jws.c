/* test_jws.c - base64url, keys, JWS ES256 sign/decode/verify, hash links. */
#include "testutil.h"

static struct tpd_rng *rng;

static int setup(void **state)
{
	(void)state;
	return tpd_rng_new(&rng) == TPD_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tpd_rng_free(rng);
	return 0;
}

static void test_b64url(void **state)
{
	unsigned char in[64], out[128];
	char enc[128];
	size_t n;

	(void)state;
	for (size_t len = 0; len < sizeof(in); len++) {
		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)(i * 37 + len);
		tpd_b64url_encode(in, len, enc);
		assert_null(strpbrk(enc, "+/="));
		assert_int_equal(tpd_b64url_decode(enc, strlen(enc), out, sizeof(out), &n), TPD_OK);
		assert_int_equal(n, len);
		assert_memory_equal(in, out, len);
	}
	tpd_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc);
	assert_string_equal(enc, "-_8");
	assert_int_equal(tpd_b64url_decode("ab+/", 4, out, sizeof(out), &n), TPD_ERR_INVAL);
	assert_int_equal(tpd_b64url_decode("YQ==", 4, out, sizeof(out), &n), TPD_ERR_INVAL);
	assert_int_equal(tpd_b64url_decode("Y", 1, out, sizeof(out), &n), TPD_ERR_INVAL);
	assert_int_equal(tpd_b64url_decode("YR", 2, out, sizeof(out), &n), TPD_ERR_INVAL); /* non-canonical */
}

static void test_sign_verify(void **state)
{
	const char payload[] = "{\"v\":1,\"dev\":\"TP1\"}";
	struct tpd_key *key, *pub, *other;
	struct tpd_jws j;
	char *jws, pem[512], b64[256];

	(void)state;
	assert_int_equal(tpd_key_generate(rng, &key), TPD_OK);
	assert_int_equal(tpd_key_generate(rng, &other), TPD_OK);
	assert_int_equal(tpd_jws_sign(key, rng, "TP1", payload, strlen(payload), &jws), TPD_OK);
	assert_int_equal(tpd_key_public_pem(key, pem, sizeof(pem)), TPD_OK);
	assert_int_equal(tpd_key_parse_public(pem, &pub), TPD_OK);

	assert_int_equal(tpd_jws_decode(jws, strlen(jws), &j), TPD_OK);
	assert_string_equal(j.alg, "ES256");
	assert_string_equal(j.kid, "TP1");
	assert_string_equal(j.typ, "tp-report");
	assert_string_equal(j.payload, payload);
	assert_int_equal(j.sig_len, 64);
	assert_int_equal(tpd_jws_verify(&j, jws, pub), TPD_OK);
	assert_int_equal(tpd_jws_verify(&j, jws, other), TPD_ERR_VERIFY);
	tpd_jws_clear(&j);

	/* the public key also travels as base64 SPKI DER (registry rows) */
	assert_int_equal(tpd_key_public_b64(key, b64, sizeof(b64)), TPD_OK);
	tpd_key_free(pub);
	assert_int_equal(tpd_key_parse_public(b64, &pub), TPD_OK);

	/* flip one byte anywhere in header or payload: verification fails */
	for (size_t i = 0; i < strlen(jws); i += 7) {
		char *bad = strdup(jws);

		if (bad[i] == '.') {
			free(bad);
			continue;
		}
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		if (tpd_jws_decode(bad, strlen(bad), &j) == TPD_OK) {
			if (tpd_jws_verify(&j, bad, pub) == TPD_OK)
				fail_msg("flipped byte %zu still verifies", i);
			tpd_jws_clear(&j);
		}
		free(bad);
	}
	free(jws);
	tpd_key_free(key);
	tpd_key_free(pub);
	tpd_key_free(other);
}

static void test_decode_refuses_malformed(void **state)
{
	struct tpd_jws j;
	char buf[512], h[128];

	(void)state;
	assert_int_equal(tpd_jws_decode("abc", 3, &j), TPD_ERR_INVAL);
	assert_int_equal(tpd_jws_decode("a.b", 3, &j), TPD_ERR_INVAL);
	assert_int_equal(tpd_jws_decode("a.b.c.d", 7, &j), TPD_ERR_INVAL);
	assert_int_equal(tpd_jws_decode("!!.e30.AA", 9, &j), TPD_ERR_INVAL);
	/* header without kid */
	tpd_b64url_encode((const unsigned char *)"{\"alg\":\"ES256\"}", 15, h);
	snprintf(buf, sizeof(buf), "%s.e30.AAAA", h);
	assert_int_equal(tpd_jws_decode(buf, strlen(buf), &j), TPD_ERR_INVAL);
	/* alg none decodes, but never verifies */
	tpd_b64url_encode((const unsigned char *)"{\"alg\":\"none\",\"kid\":\"TP1\"}", 26, h);
	snprintf(buf, sizeof(buf), "%s.e30.", h);
	assert_int_equal(tpd_jws_decode(buf, strlen(buf), &j), TPD_OK);
	assert_string_equal(j.alg, "none");
	{
		struct tpd_key *k;

		assert_int_equal(tpd_key_generate(rng, &k), TPD_OK);
		assert_int_equal(tpd_jws_verify(&j, buf, k), TPD_ERR_INVAL);
		tpd_key_free(k);
	}
	tpd_jws_clear(&j);
}

/* Issue 14: 88 signature characters decode to 66 bytes; the signature buffer
 * holds 64. The decode must refuse it before writing, and the codec must
 * honour any caller's capacity. */
static void test_decode_refuses_long_signature(void **state)
{
	struct tpd_jws j;
	char buf[512], h[128], sig[128];
	unsigned char raw[66], out[9];
	size_t n = 0;

	(void)state;
	memset(raw, 0x5a, sizeof(raw));
	tpd_b64url_encode((const unsigned char *)"{\"alg\":\"ES256\",\"kid\":\"TP1\"}", 27, h);
	tpd_b64url_encode(raw, sizeof(raw), sig);
	assert_int_equal(strlen(sig), 88);
	snprintf(buf, sizeof(buf), "%s.e30.%s", h, sig);
	assert_int_equal(tpd_jws_decode(buf, strlen(buf), &j), TPD_ERR_INVAL);
	/* 65 bytes (87 characters) too */
	tpd_b64url_encode(raw, 65, sig);
	snprintf(buf, sizeof(buf), "%s.e30.%s", h, sig);
	assert_int_equal(tpd_jws_decode(buf, strlen(buf), &j), TPD_ERR_INVAL);
	/* exactly 64 still decodes (and would then be verified) */
	tpd_b64url_encode(raw, 64, sig);
	snprintf(buf, sizeof(buf), "%s.e30.%s", h, sig);
	assert_int_equal(tpd_jws_decode(buf, strlen(buf), &j), TPD_OK);
	assert_int_equal(j.sig_len, 64);
	tpd_jws_clear(&j);

	/* the codec itself: 12 characters are 9 bytes, one more than out */
	memset(out, 0, sizeof(out));
	assert_int_equal(tpd_b64url_decode("WlpaWlpaWlpa", 12, out, 8, &n), TPD_ERR_TOOBIG);
	assert_int_equal(out[0], 0);   /* nothing written */
	assert_int_equal(tpd_b64url_decode("WlpaWlpaWlo", 11, out, 8, &n), TPD_OK);
	assert_int_equal(n, 8);
	assert_int_equal(tpd_b64url_decode("WlpaWlpaWlpa", 12, out, 9, &n), TPD_OK);   /* exactly fits */
}

static void test_key_files(void **state)
{
	char dir[64], path[128], pem[512];
	struct tpd_key *key, *loaded;

	(void)state;
	tu_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/dev.key", dir);
	assert_int_equal(tpd_key_generate(rng, &key), TPD_OK);
	assert_int_equal(tpd_key_save_private(key, path, 0), TPD_OK);
	/* never overwrite an identity by accident */
	assert_int_equal(tpd_key_save_private(key, path, 0), TPD_ERR_IO);
	assert_int_equal(tpd_key_load_private(path, &loaded), TPD_OK);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	tpd_key_public_pem(key, pem, sizeof(pem));
	{
		char pem2[512];

		tpd_key_public_pem(loaded, pem2, sizeof(pem2));
		assert_string_equal(pem, pem2);
	}
	tu_write(path, "not a key\n");
	tpd_key_free(loaded);
	assert_int_equal(tpd_key_load_private(path, &loaded), TPD_ERR_CRYPTO);
	assert_int_equal(tpd_key_load_private("/nonexistent/k", &loaded), TPD_ERR_NOTFOUND);
	tpd_key_free(key);
	tu_rm_rf(dir);
}

static void test_hash_link(void **state)
{
	char a[TPD_HASH_B64_LEN + 1], b[TPD_HASH_B64_LEN + 1];

	(void)state;
	tpd_hash_b64("abc", 3, a);
	assert_int_equal(strlen(a), TPD_HASH_B64_LEN);
	/* SHA-256("abc") = ba7816bf..., base64url */
	assert_string_equal(a, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	tpd_hash_b64("abd", 3, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_decode_refuses_malformed),
		cmocka_unit_test(test_decode_refuses_long_signature),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_hash_link),
	};
	return cmocka_run_group_tests_name("jws", tests, setup, teardown);
}
