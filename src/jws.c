/*
 * jws.c - P-256 keys, base64url and JWS compact ES256 over mbedTLS 2.28.
 *
 * Layout: RNG, keys (generate/load/save/export), base64url, sign, decode,
 * verify, hash link.
 *
 * Format source: RFC 7515 §7.1 (compact serialization) and RFC 7518 §3.4
 * (ES256 signature = R || S, each 32 bytes big-endian, not ASN.1 DER).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/x509_csr.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>

#include "tpd/jws.h"

struct tpd_rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct tpd_key {
	mbedtls_pk_context pk;
	int has_private;
};

enum tpd_err tpd_rng_new(struct tpd_rng **out)
{
	static const unsigned char pers[] = "tpdiag";
	struct tpd_rng *rng = calloc(1, sizeof(*rng));

	*out = NULL;
	if (!rng)
		return TPD_ERR_NOMEM;
	mbedtls_entropy_init(&rng->entropy);
	mbedtls_ctr_drbg_init(&rng->drbg);
	if (mbedtls_ctr_drbg_seed(&rng->drbg, mbedtls_entropy_func, &rng->entropy,
				  pers, sizeof(pers) - 1) != 0) {
		tpd_rng_free(rng);
		return TPD_ERR_CRYPTO;
	}
	*out = rng;
	return TPD_OK;
}

enum tpd_err tpd_rng_bytes(struct tpd_rng *rng, unsigned char *buf, size_t n)
{
	return mbedtls_ctr_drbg_random(&rng->drbg, buf, n) ? TPD_ERR_CRYPTO : TPD_OK;
}

void tpd_rng_free(struct tpd_rng *rng)
{
	if (!rng)
		return;
	mbedtls_ctr_drbg_free(&rng->drbg);
	mbedtls_entropy_free(&rng->entropy);
	free(rng);
}

static struct tpd_key *key_alloc(void)
{
	struct tpd_key *k = calloc(1, sizeof(*k));

	if (k)
		mbedtls_pk_init(&k->pk);
	return k;
}

void tpd_key_free(struct tpd_key *key)
{
	if (!key)
		return;
	mbedtls_pk_free(&key->pk);
	free(key);
}

/* Only ECDSA P-256 keys are device keys. */
static enum tpd_err key_check_p256(struct tpd_key *k)
{
	if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY &&
	    mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECDSA)
		return TPD_ERR_CRYPTO;
	if (mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return TPD_ERR_CRYPTO;
	return TPD_OK;
}

enum tpd_err tpd_key_generate(struct tpd_rng *rng, struct tpd_key **out)
{
	struct tpd_key *k = key_alloc();

	*out = NULL;
	if (!k)
		return TPD_ERR_NOMEM;
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
				mbedtls_ctr_drbg_random, &rng->drbg) != 0) {
		tpd_key_free(k);
		return TPD_ERR_CRYPTO;
	}
	k->has_private = 1;
	*out = k;
	return TPD_OK;
}

enum tpd_err tpd_key_load_private(const char *path, struct tpd_key **out)
{
	struct tpd_key *k = key_alloc();

	*out = NULL;
	if (!k)
		return TPD_ERR_NOMEM;
	if (access(path, R_OK) != 0) {
		tpd_key_free(k);
		return errno == ENOENT ? TPD_ERR_NOTFOUND : TPD_ERR_IO;
	}
	if (mbedtls_pk_parse_keyfile(&k->pk, path, NULL) != 0 || key_check_p256(k)) {
		tpd_key_free(k);
		return TPD_ERR_CRYPTO;
	}
	k->has_private = 1;
	*out = k;
	return TPD_OK;
}

enum tpd_err tpd_key_parse_public(const char *text, struct tpd_key **out)
{
	struct tpd_key *k = key_alloc();
	int rc;

	*out = NULL;
	if (!k)
		return TPD_ERR_NOMEM;
	if (strstr(text, "-----BEGIN")) {
		rc = mbedtls_pk_parse_public_key(&k->pk, (const unsigned char *)text,
						 strlen(text) + 1);
	} else {
		unsigned char der[512];
		size_t n = 0;

		rc = mbedtls_base64_decode(der, sizeof(der), &n, (const unsigned char *)text,
					   strlen(text));
		if (rc == 0)
			rc = mbedtls_pk_parse_public_key(&k->pk, der, n);
	}
	if (rc != 0 || key_check_p256(k)) {
		tpd_key_free(k);
		return TPD_ERR_CRYPTO;
	}
	*out = k;
	return TPD_OK;
}

enum tpd_err tpd_key_load_public(const char *path, struct tpd_key **out)
{
	struct tpd_key *k = key_alloc();

	*out = NULL;
	if (!k)
		return TPD_ERR_NOMEM;
	if (access(path, R_OK) != 0) {
		tpd_key_free(k);
		return errno == ENOENT ? TPD_ERR_NOTFOUND : TPD_ERR_IO;
	}
	if (mbedtls_pk_parse_public_keyfile(&k->pk, path) != 0 || key_check_p256(k)) {
		tpd_key_free(k);
		return TPD_ERR_CRYPTO;
	}
	*out = k;
	return TPD_OK;
}

enum tpd_err tpd_key_save_private(const struct tpd_key *key, const char *path, int overwrite)
{
	unsigned char pem[1024];
	size_t n;
	ssize_t w;
	int fd;

	if (!key->has_private)
		return TPD_ERR_INVAL;
	if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&key->pk, pem, sizeof(pem)) != 0)
		return TPD_ERR_CRYPTO;
	n = strlen((char *)pem);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0)
		return TPD_ERR_IO;
	w = write(fd, pem, n);
	mbedtls_platform_zeroize(pem, sizeof(pem));
	if (w != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		return TPD_ERR_IO;
	}
	return close(fd) == 0 ? TPD_OK : TPD_ERR_IO;
}

enum tpd_err tpd_key_public_pem(const struct tpd_key *key, char *buf, size_t len)
{
	if (mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&key->pk,
					(unsigned char *)buf, len) != 0)
		return TPD_ERR_TOOBIG;
	return TPD_OK;
}

enum tpd_err tpd_key_public_b64(const struct tpd_key *key, char *buf, size_t len)
{
	unsigned char der[256];
	size_t olen;
	int n;

	/* mbedtls writes DER at the end of the buffer and returns its length. */
	n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&key->pk, der, sizeof(der));
	if (n <= 0)
		return TPD_ERR_CRYPTO;
	if (mbedtls_base64_encode((unsigned char *)buf, len, &olen,
				  der + sizeof(der) - n, (size_t)n) != 0)
		return TPD_ERR_TOOBIG;
	return TPD_OK;
}

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void tpd_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = b64url_alphabet[v >> 18 & 63];
		out[o++] = b64url_alphabet[v >> 12 & 63];
		out[o++] = b64url_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

enum tpd_err tpd_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
			       size_t *outlen)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	if (len % 4 == 1)
		return TPD_ERR_INVAL;
	/* Exact output size: 6 bits per character, whole bytes only. Checked
	 * before writing anything, so the bound is the caller's buffer, not a
	 * length limit each caller must remember to compute. */
	if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
		return TPD_ERR_TOOBIG;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);

		if (v < 0)
			return TPD_ERR_INVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0)   /* non-canonical trailing bits */
		return TPD_ERR_INVAL;
	*outlen = o;
	return TPD_OK;
}

static int jws_sha256(const void *data, size_t len, unsigned char hash[32])
{
	return mbedtls_sha256_ret(data, len, hash, 0);
}

void tpd_sha256_two(const void *a, size_t alen, const void *b, size_t blen,
		    unsigned char out[32])
{
	mbedtls_sha256_context c;

	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts_ret(&c, 0);
	mbedtls_sha256_update_ret(&c, a, alen);
	if (blen)
		mbedtls_sha256_update_ret(&c, b, blen);
	mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
}

enum tpd_err tpd_hmac_sha256_two(const void *key, size_t keylen, const void *a, size_t alen,
				 const void *b, size_t blen, unsigned char out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;
	int rc;

	if (!md)
		return TPD_ERR_CRYPTO;
	mbedtls_md_init(&ctx);
	rc = mbedtls_md_setup(&ctx, md, 1) || mbedtls_md_hmac_starts(&ctx, key, keylen) ||
	     mbedtls_md_hmac_update(&ctx, a, alen) || (blen && mbedtls_md_hmac_update(&ctx, b, blen)) ||
	     mbedtls_md_hmac_finish(&ctx, out);
	mbedtls_md_free(&ctx);
	return rc ? TPD_ERR_CRYPTO : TPD_OK;
}

void tpd_hash_b64(const char *data, size_t len, char *out)
{
	unsigned char hash[32];

	jws_sha256(data, len, hash);
	tpd_b64url_encode(hash, sizeof(hash), out);
}

enum tpd_err tpd_jws_sign(const struct tpd_key *key, struct tpd_rng *rng, const char *kid,
			  const char *payload, size_t len, char **out)
{
	char header[128];
	unsigned char hash[32], sig[64];
	mbedtls_mpi r, s;
	mbedtls_ecp_keypair *ec;
	size_t hlen, off;
	char *buf;
	enum tpd_err rc = TPD_ERR_CRYPTO;

	*out = NULL;
	if (!key->has_private || !tpd_id_valid(kid) || len > TPD_PAYLOAD_MAX)
		return TPD_ERR_INVAL;
	hlen = (size_t)snprintf(header, sizeof(header),
				"{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"tp-report\"}", kid);
	buf = malloc(4 * ((hlen + 2) / 3) + 1 + 4 * ((len + 2) / 3) + 1 + 86 + 1);
	if (!buf)
		return TPD_ERR_NOMEM;
	tpd_b64url_encode((const unsigned char *)header, hlen, buf);
	off = strlen(buf);
	buf[off++] = '.';
	tpd_b64url_encode((const unsigned char *)payload, len, buf + off);
	off += strlen(buf + off);
	if (jws_sha256(buf, off, hash) != 0)
		goto out_free;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ec = mbedtls_pk_ec(key->pk);
	if (mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &s, &ec->d, hash, sizeof(hash),
				       MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random, &rng->drbg) == 0 &&
	    mbedtls_mpi_write_binary(&r, sig, 32) == 0 &&
	    mbedtls_mpi_write_binary(&s, sig + 32, 32) == 0)
		rc = TPD_OK;
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	if (rc)
		goto out_free;
	buf[off++] = '.';
	tpd_b64url_encode(sig, sizeof(sig), buf + off);
	*out = buf;
	return TPD_OK;
out_free:
	free(buf);
	return rc;
}

void tpd_jws_clear(struct tpd_jws *jws)
{
	free(jws->payload);
	jws->payload = NULL;
}

/* Copies a string member of the header into buf; absent is allowed for typ. */
static enum tpd_err jws_header_str(const cJSON *h, const char *key, char *buf, size_t len,
				   int required)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(h, key);

	buf[0] = '\0';
	if (!it)
		return required ? TPD_ERR_INVAL : TPD_OK;
	if (!cJSON_IsString(it) || strlen(it->valuestring) >= len)
		return TPD_ERR_INVAL;
	memcpy(buf, it->valuestring, strlen(it->valuestring) + 1);
	return TPD_OK;
}

enum tpd_err tpd_jws_decode(const char *text, size_t len, struct tpd_jws *out)
{
	const char *d1, *d2;
	unsigned char hbuf[256];
	size_t hlen, plen;
	cJSON *h;
	enum tpd_err rc;

	memset(out, 0, sizeof(*out));
	if (len > TPD_PAYLOAD_MAX)
		return TPD_ERR_TOOBIG;
	d1 = memchr(text, '.', len);
	if (!d1)
		return TPD_ERR_INVAL;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - text));
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - text)))
		return TPD_ERR_INVAL;
	if (tpd_b64url_decode(text, (size_t)(d1 - text), hbuf, sizeof(hbuf), &hlen))
		return TPD_ERR_INVAL;
	h = cJSON_ParseWithLength((const char *)hbuf, hlen);
	if (!h)
		return TPD_ERR_INVAL;
	rc = jws_header_str(h, "alg", out->alg, sizeof(out->alg), 1);
	if (!rc)
		rc = jws_header_str(h, "kid", out->kid, sizeof(out->kid), 1);
	if (!rc)
		rc = jws_header_str(h, "typ", out->typ, sizeof(out->typ), 0);
	if (!rc && !cJSON_IsObject(h))
		rc = TPD_ERR_INVAL;
	cJSON_Delete(h);
	if (rc)
		return rc;
	/* ES256 is 64 bytes (r || s, RFC 7518 §3.4), 86 characters; shorter
	 * ones decode (alg "none" has none) and fail in tpd_jws_verify. The old
	 * check allowed 88 characters, which decode to 66 bytes. */
	if (tpd_b64url_decode(d2 + 1, (size_t)(text + len - (d2 + 1)), out->sig, sizeof(out->sig),
			      &out->sig_len))
		return TPD_ERR_INVAL;
	plen = (size_t)(d2 - d1 - 1) / 4 * 3 + 3;   /* room for the decode, plus the NUL */
	out->payload = malloc(plen + 1);
	if (!out->payload)
		return TPD_ERR_NOMEM;
	if (tpd_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), (unsigned char *)out->payload, plen,
			      &plen)) {
		tpd_jws_clear(out);
		return TPD_ERR_INVAL;
	}
	out->payload[plen] = '\0';
	out->payload_len = plen;
	out->signing_input_len = (size_t)(d2 - text);
	return TPD_OK;
}

enum tpd_err tpd_jws_verify(const struct tpd_jws *jws, const char *text,
			    const struct tpd_key *pub)
{
	unsigned char hash[32];
	mbedtls_mpi r, s;
	mbedtls_ecp_keypair *ec;
	int vrc;

	if (strcmp(jws->alg, "ES256") != 0)
		return TPD_ERR_INVAL;
	if (jws->sig_len != 64)
		return TPD_ERR_VERIFY;
	if (jws_sha256(text, jws->signing_input_len, hash) != 0)
		return TPD_ERR_CRYPTO;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ec = mbedtls_pk_ec(pub->pk);
	vrc = mbedtls_mpi_read_binary(&r, jws->sig, 32) ||
	      mbedtls_mpi_read_binary(&s, jws->sig + 32, 32) ||
	      mbedtls_ecdsa_verify(&ec->grp, hash, sizeof(hash), &ec->Q, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return vrc ? TPD_ERR_VERIFY : TPD_OK;
}

enum tpd_err tpd_key_csr_pem(struct tpd_key *key, struct tpd_rng *rng, const char *cn,
			     char *buf, size_t len)
{
	mbedtls_x509write_csr csr;
	char subject[TPD_ID_MAX + 8];
	int rc;

	if (!key->has_private || !tpd_id_valid(cn))
		return TPD_ERR_INVAL;
	snprintf(subject, sizeof(subject), "CN=%s", cn);
	mbedtls_x509write_csr_init(&csr);
	mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&csr, &key->pk);
	rc = mbedtls_x509write_csr_set_subject_name(&csr, subject);
	if (!rc)
		rc = mbedtls_x509write_csr_pem(&csr, (unsigned char *)buf, len, mbedtls_ctr_drbg_random,
					       &rng->drbg);
	mbedtls_x509write_csr_free(&csr);
	return rc ? TPD_ERR_CRYPTO : TPD_OK;
}
