/*
 * tpd/jws.h - device keys and JWS compact ES256 (RFC 7515/7518), SPEC §2.
 *
 * Keys are ECDSA P-256. Signatures are deterministic (RFC 6979) with the RNG
 * used only for blinding. The RNG is process-wide and created once in main();
 * it is not thread-safe, so one thread signs at a time per RNG.
 *
 * Protected header, always: {"alg":"ES256","kid":"<device id>","typ":"tp-report"}
 */
#ifndef TPD_JWS_H
#define TPD_JWS_H

#include <stddef.h>

#include "tpd/err.h"
#include "tpd/wire.h"

struct tpd_rng;
struct tpd_key;

#define TPD_HASH_B64_LEN 43  /* base64url of a SHA-256, no padding */

enum tpd_err tpd_rng_new(struct tpd_rng **out);
void tpd_rng_free(struct tpd_rng *rng);
/* Fills buf with n random bytes (CTR-DRBG). */
enum tpd_err tpd_rng_bytes(struct tpd_rng *rng, unsigned char *buf, size_t n);

/* Generates a P-256 key pair. */
enum tpd_err tpd_key_generate(struct tpd_rng *rng, struct tpd_key **out);
/* Loads a PEM private key (EC P-256 only). */
enum tpd_err tpd_key_load_private(const char *path, struct tpd_key **out);
/* Parses a public key: PEM text, or base64 of SPKI DER. */
enum tpd_err tpd_key_parse_public(const char *text, struct tpd_key **out);
/* Loads a public key from a PEM file. */
enum tpd_err tpd_key_load_public(const char *path, struct tpd_key **out);
void tpd_key_free(struct tpd_key *key);
/* Writes the private key as PEM to path with mode 0600 (created exclusively
 * unless overwrite). */
enum tpd_err tpd_key_save_private(const struct tpd_key *key, const char *path, int overwrite);
/* Public key as PEM text into buf. */
enum tpd_err tpd_key_public_pem(const struct tpd_key *key, char *buf, size_t len);
/* A PKCS#10 certificate signing request (PEM) for key with subject CN=cn,
 * for a TLS client certificate (the broker maps CN to the device id). */
enum tpd_err tpd_key_csr_pem(struct tpd_key *key, struct tpd_rng *rng, const char *cn,
			     char *buf, size_t len);

/* Public key as base64 (standard alphabet) of SPKI DER into buf. */
enum tpd_err tpd_key_public_b64(const struct tpd_key *key, char *buf, size_t len);

/* base64url without padding. encode: out needs 4*ceil(n/3)+1 bytes. decode:
 * strict alphabet, no padding, canonical trailing bits; writes at most cap
 * bytes into out and sets *outlen. TPD_ERR_TOOBIG when the decoded length
 * (len * 6 / 8) would exceed cap: nothing is written then, so a fixed buffer
 * is safe whatever the input's length (issue 14: an 88-character signature
 * part decodes to 66 bytes). TPD_ERR_INVAL for anything malformed. */
void tpd_b64url_encode(const unsigned char *in, size_t n, char *out);
enum tpd_err tpd_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
			       size_t *outlen);

/*
 * Signs payload as JWS compact with kid. *out is malloc'ed, NUL-terminated,
 * caller frees; NULL on failure.
 */
enum tpd_err tpd_jws_sign(const struct tpd_key *key, struct tpd_rng *rng, const char *kid,
			  const char *payload, size_t len, char **out);

/* A decoded, not yet verified JWS. */
struct tpd_jws {
	char alg[16];
	char kid[TPD_ID_MAX + 1];
	char typ[32];
	char *payload;            /* decoded, NUL-terminated, malloc'ed */
	size_t payload_len;
	size_t signing_input_len; /* bytes of "header.payload" in the original */
	unsigned char sig[64];    /* r || s */
	size_t sig_len;
};

/*
 * Splits and decodes a compact JWS (at most TPD_PAYLOAD_MAX bytes). Returns
 * TPD_ERR_INVAL for anything malformed (three parts, base64url, header JSON
 * with string alg/kid). On success out->payload must be freed with
 * tpd_jws_clear.
 */
enum tpd_err tpd_jws_decode(const char *jws, size_t len, struct tpd_jws *out);
void tpd_jws_clear(struct tpd_jws *jws);

/* Verifies a decoded JWS against its original text. TPD_ERR_VERIFY on a bad
 * signature, TPD_ERR_INVAL when alg is not ES256. */
enum tpd_err tpd_jws_verify(const struct tpd_jws *jws, const char *text,
			    const struct tpd_key *pub);

/* base64url(SHA-256(data)) into out (TPD_HASH_B64_LEN + 1 bytes): the "prev"
 * link of SPEC §2. */
void tpd_hash_b64(const char *data, size_t len, char *out);

/* SHA-256 of a followed by b (b may be NULL when blen is 0) into out. Every
 * mbedTLS call of the project is in jws.c (and tools/bench), the collector's
 * token hashes and webhook signatures too, so a port to
 * mbedTLS 3 touches one file. */
void tpd_sha256_two(const void *a, size_t alen, const void *b, size_t blen,
		    unsigned char out[32]);
/* HMAC-SHA256 under key of a followed by b (b may be NULL when blen is 0). */
enum tpd_err tpd_hmac_sha256_two(const void *key, size_t keylen, const void *a, size_t alen,
				 const void *b, size_t blen, unsigned char out[32]);

#endif
