/*
 * jwt: keys, JWKs and signing (see jwt.h); verification, which takes
 * tokens and JWKS from outside, is in jwt_verify.c, and the keyring,
 * which owns a folder of key files, in jwt_keyring.c. Both are built on
 * jwt.h's functions only.
 *
 * Private keys never leave this file except as PKCS#8 PEM in a 0600 file;
 * memory that held PEM text is cleansed. Messages quote strings that may
 * come from outside (algorithm names) only cut short and with control
 * characters replaced.
 */
#include "jwt.h"
#include "jwt_int.h"
#include "fs.h"
#include "jsonx.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define JWT_KEYFILE_MAX	65536		/* a PEM private key file */
#define JWT_RSA_BITS	2048		/* generated RSA keys */
#define JWT_KID_LEN	43		/* base64url of a SHA-256 */

struct jwt_key {
	EVP_PKEY *pkey;			/* owned: private key */
	enum jwt_alg alg;
	char kid[JWT_KID_LEN + 1];
	json_t *jwk;			/* owned: the public JWK */
};

/* ---- algorithms and base64url ---- */

const char *jwt_alg_name(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_RS256:
		return "RS256";
	case JWT_ES256:
		return "ES256";
	}
	BUG("jwt_alg_name: alg %d", (int)alg);
}

int jwt_alg_parse(enum jwt_alg *out, const char *name, struct err *e)
{
	char q[64];

	if (name && !strcmp(name, "RS256")) {
		*out = JWT_RS256;
		return 0;
	}
	if (name && !strcmp(name, "ES256")) {
		*out = JWT_ES256;
		return 0;
	}
	return err_set(e, ERR_INVALID,
		       "algorithm \"%s\" not supported (RS256 or ES256)",
		       quote(q, name ? name : ""));
}

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *jwt_b64url_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t rest = len % 3, i;
	char *out = xmalloc(len / 3 * 4 + (rest ? rest + 1 : 0) + 1), *o = out;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64url_chars[v >> 18 & 63];
		*o++ = b64url_chars[v >> 12 & 63];
		*o++ = b64url_chars[v >> 6 & 63];
		*o++ = b64url_chars[v & 63];
	}
	if (rest) {
		v = (uint32_t)p[i] << 16;
		if (rest == 2)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64url_chars[v >> 18 & 63];
		*o++ = b64url_chars[v >> 12 & 63];
		if (rest == 2)
			*o++ = b64url_chars[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int jwt_b64url_decode(struct buf *out, const char *s, size_t len,
		      struct err *e)
{
	size_t start = out->len, need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return err_set(e, ERR_SYNTAX,
			       "base64url text of %zu characters is cut short",
			       len);
	if (buf_grow(out, need) < 0)
		return err_set(e, ERR_LIMIT,
			       "base64url text decodes to more than %zu bytes",
			       out->max);
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)s[i]);

		if (v < 0) {
			buf_truncate(out, start);
			return err_set(e, ERR_SYNTAX,
				       "character %zu is not base64url", i + 1);
		}
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->ptr[out->len++] = (char)(acc >> bits & 0xff);
		}
	}
	if (acc & ((1u << bits) - 1)) {
		/* "Zh" would also decode to "f": one text per byte string */
		buf_truncate(out, start);
		return err_set(e, ERR_SYNTAX,
			       "base64url text has stray bits in its last character");
	}
	out->ptr[out->len] = '\0';
	return 0;
}

/* ---- keys and JWKs ---- */

static bool is_b64url_text(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (b64url_value((unsigned char)*s) < 0)
			return false;
	return true;
}

/* SHA-256 of text, base64url, into out. */
static void sha256_b64url(char out[JWT_KID_LEN + 1], const char *text,
			  size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *s;

	if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		BUG("SHA-256 failed");
	s = jwt_b64url_encode(md, mdlen);
	memcpy(out, s, JWT_KID_LEN + 1);
	free(s);
}

/* RFC 7638: the required members in lexicographic order, no whitespace.
 * The values are base64url text (checked by callers), so they need no
 * escaping. */
static void thumbprint_rsa(char out[JWT_KID_LEN + 1], const char *n,
			   const char *ev)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", ev, n);
	sha256_b64url(out, b.ptr, b.len);
	buf_release(&b);
}

static void thumbprint_ec(char out[JWT_KID_LEN + 1], const char *crv,
			  const char *x, const char *y)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		   crv, x, y);
	sha256_b64url(out, b.ptr, b.len);
	buf_release(&b);
}

int jwt_jwk_thumbprint(char **out, const json_t *jwk, struct err *e)
{
	const char *kty = jsonx_str(jwk, "kty");
	char kid[JWT_KID_LEN + 1];

	if (kty && !strcmp(kty, "RSA")) {
		const char *n = jsonx_str(jwk, "n"), *ev = jsonx_str(jwk, "e");

		if (!is_b64url_text(n) || !is_b64url_text(ev))
			return err_set(e, ERR_INVALID,
				       "RSA JWK without base64url n and e");
		thumbprint_rsa(kid, n, ev);
	} else if (kty && !strcmp(kty, "EC")) {
		const char *crv = jsonx_str(jwk, "crv");
		const char *x = jsonx_str(jwk, "x"), *y = jsonx_str(jwk, "y");

		/* curve names are [A-Za-z0-9-]: base64url's alphabet covers them */
		if (!is_b64url_text(crv) || !is_b64url_text(x) ||
		    !is_b64url_text(y))
			return err_set(e, ERR_INVALID,
				       "EC JWK without crv, and base64url x and y");
		thumbprint_ec(kid, crv, x, y);
	} else {
		return err_set(e, ERR_INVALID, "JWK kty is not RSA or EC");
	}
	*out = xstrdup(kid);
	return 0;
}

/* base64url of bn's big-endian bytes: minimal (width 0) or padded. */
static char *bn_b64url(const BIGNUM *bn, int width)
{
	int n = width ? width : BN_num_bytes(bn);
	unsigned char *b;
	char *s = NULL;

	if (n <= 0 || n > JWT_RSA_MAX / 8)
		return NULL;
	b = xmalloc((size_t)n);
	if (width ? BN_bn2binpad(bn, b, width) == width : BN_bn2bin(bn, b) == n)
		s = jwt_b64url_encode(b, (size_t)n);
	free(b);
	return s;
}

/* k->kid and k->jwk from k->pkey. */
static int key_make_jwk(struct jwt_key *k, struct err *e)
{
	BIGNUM *b1 = NULL, *b2 = NULL;
	char *s1 = NULL, *s2 = NULL;
	int ret = -1;

	if (k->alg == JWT_RS256) {
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &b1) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &b2) != 1) {
			ossl_err(e, ERR_INTERNAL, "RSA public numbers");
			goto done;
		}
		s1 = bn_b64url(b1, 0);
		s2 = bn_b64url(b2, 0);
		if (!s1 || !s2) {
			err_set(e, ERR_INVALID, "RSA key with an empty n or e");
			goto done;
		}
		thumbprint_rsa(k->kid, s1, s2);
		k->jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
				   "kty", "RSA", "use", "sig", "alg", "RS256",
				   "kid", k->kid, "n", s1, "e", s2);
	} else {
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &b1) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b2) != 1) {
			ossl_err(e, ERR_INTERNAL, "EC public point");
			goto done;
		}
		s1 = bn_b64url(b1, JWT_EC_COORD);
		s2 = bn_b64url(b2, JWT_EC_COORD);
		if (!s1 || !s2) {
			err_set(e, ERR_INVALID, "EC public point out of range");
			goto done;
		}
		thumbprint_ec(k->kid, "P-256", s1, s2);
		k->jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
				   "kty", "EC", "use", "sig", "alg", "ES256",
				   "kid", k->kid, "crv", "P-256", "x", s1, "y", s2);
	}
	if (!k->jwk)
		BUG("json_pack of a JWK");
	ret = 0;
done:
	BN_free(b1);
	BN_free(b2);
	free(s1);
	free(s2);
	return ret;
}

/* A key from pkey (taken over, freed on failure); what names it in
 * messages. */
static int key_from_pkey(struct jwt_key **out, EVP_PKEY *pkey,
			 const char *what, struct err *e)
{
	struct jwt_key *k;
	enum jwt_alg alg;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);

		if (bits < JWT_RSA_MIN || bits > JWT_RSA_MAX) {
			err_set(e, ERR_INVALID,
				"%s: an RSA key of %d bits (RS256 takes %d to %d)",
				what, bits, JWT_RSA_MIN, JWT_RSA_MAX);
			goto fail;
		}
		alg = JWT_RS256;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64];
		size_t glen = 0;

		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
						   group, sizeof(group), &glen) != 1 ||
		    (strcmp(group, "prime256v1") && strcmp(group, "P-256"))) {
			ERR_clear_error();
			err_set(e, ERR_INVALID,
				"%s: an EC key not on the P-256 curve (ES256 needs P-256)",
				what);
			goto fail;
		}
		alg = JWT_ES256;
	} else {
		const char *t = EVP_PKEY_get0_type_name(pkey);

		err_set(e, ERR_INVALID,
			"%s: a %s key; only RSA (RS256) and EC P-256 (ES256) keys sign tokens",
			what, t ? t : "unknown");
		goto fail;
	}
	k = xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->alg = alg;
	if (key_make_jwk(k, e) < 0) {
		jwt_key_free(k);
		return err_wrap(e, "%s", what);
	}
	*out = k;
	return 0;
fail:
	EVP_PKEY_free(pkey);
	return -1;
}

int jwt_key_generate(struct jwt_key **out, enum jwt_alg alg, struct err *e)
{
	EVP_PKEY *pkey;

	if (alg == JWT_RS256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)JWT_RSA_BITS);
	else if (alg == JWT_ES256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		BUG("jwt_key_generate: alg %d", (int)alg);
	if (!pkey)
		return ossl_err(e, ERR_INTERNAL, "cannot generate a signing key");
	return key_from_pkey(out, pkey, "new key", e);
}

/* Never ask for a passphrase (OpenSSL's default would read the
 * terminal): an encrypted key fails to load. */
static int no_passphrase(char *b, int size, int rwflag, void *u)
{
	(void)b;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Read a private key file into b, which has room for it from the start
 * so that no copy of the text is left behind by a realloc. */
static int read_key_file(struct buf *b, const char *path, struct err *e)
{
	struct stat st;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "cannot open %s", path);
	if (fstat(fd, &st) < 0) {
		err_sys(e, ERR_IO, "cannot stat %s", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "%s is not a regular file", path);
		goto done;
	}
	if (st.st_size > JWT_KEYFILE_MAX ||
	    buf_grow(b, (size_t)st.st_size + 1) < 0) {
		err_set(e, ERR_LIMIT, "%s is larger than %d bytes: not a key file",
			path, JWT_KEYFILE_MAX);
		goto done;
	}
	for (;;) {
		size_t room = b->alloc - b->len - 1;
		ssize_t n;

		if (!room) {
			err_set(e, ERR_LIMIT, "%s grew while being read", path);
			goto done;
		}
		n = read(fd, b->ptr + b->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "cannot read %s", path);
			goto done;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->ptr[b->len] = '\0';
	}
	ret = 0;
done:
	close(fd);
	return ret;
}

int jwt_key_load(struct jwt_key **out, const char *path, struct err *e)
{
	struct buf b;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	int ret = -1;

	buf_init(&b, JWT_KEYFILE_MAX + 1);
	if (read_key_file(&b, path, e) < 0)
		goto done;
	bio = BIO_new_mem_buf(b.ptr, (int)b.len);
	if (!bio) {
		ossl_err(e, ERR_INTERNAL, "BIO_new_mem_buf");
		goto done;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!pkey) {
		ERR_clear_error();
		err_set(e, ERR_SYNTAX,
			"%s is not an unencrypted PEM private key (damaged? "
			"restore it from a backup)", path);
		goto done;
	}
	ret = key_from_pkey(out, pkey, path, e);
done:
	BIO_free(bio);
	if (b.alloc)
		OPENSSL_cleanse(b.ptr, b.alloc);
	buf_release(&b);
	return ret;
}

int jwt_key_save(const struct jwt_key *k, const char *path, struct err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());	/* frees with cleansing */
	char *data = NULL;
	long len;
	int ret = -1;

	if (!bio || PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0,
					     NULL, NULL) != 1) {
		ossl_err(e, ERR_INTERNAL, "cannot encode the private key");
		goto done;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !data) {
		err_set(e, ERR_INTERNAL, "cannot encode the private key");
		goto done;
	}
	ret = fs_write_file_sync(path, data, (size_t)len, 0600, e);
done:
	BIO_free(bio);
	return ret;
}

void jwt_key_free(struct jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	json_decref(k->jwk);
	free(k);
}

const char *jwt_key_kid(const struct jwt_key *k)
{
	return k->kid;
}

enum jwt_alg jwt_key_alg(const struct jwt_key *k)
{
	return k->alg;
}

json_t *jwt_key_jwk(const struct jwt_key *k)
{
	return json_deep_copy(k->jwk);
}

/* ---- signing ---- */

/* JWS signature of data: RSASSA-PKCS1-v1_5, or ECDSA as raw r || s. */
static int sign_bytes(unsigned char **out, size_t *outlen,
		      const struct jwt_key *k, const void *data, size_t len,
		      struct err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	size_t siglen = 0;
	int ret = -1;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, data, len) != 1) {
		ossl_err(e, ERR_INTERNAL, "cannot sign");
		goto done;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, data, len) != 1) {
		ossl_err(e, ERR_INTERNAL, "cannot sign");
		goto done;
	}
	if (k->alg == JWT_ES256) {
		const unsigned char *p = sig;
		unsigned char *raw = xmalloc(2 * JWT_EC_COORD);

		es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		if (es)
			ECDSA_SIG_get0(es, &r, &s);
		if (!es || BN_bn2binpad(r, raw, JWT_EC_COORD) != JWT_EC_COORD ||
		    BN_bn2binpad(s, raw + JWT_EC_COORD, JWT_EC_COORD) != JWT_EC_COORD) {
			free(raw);
			ossl_err(e, ERR_INTERNAL, "cannot convert the ECDSA signature");
			goto done;
		}
		free(sig);
		sig = raw;
		siglen = 2 * JWT_EC_COORD;
	}
	*out = sig;
	*outlen = siglen;
	sig = NULL;
	ret = 0;
done:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ret;
}

int jwt_sign(char **out, const struct jwt_key *k, const json_t *claims,
	     struct err *e)
{
	const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
	char *hs = NULL, *cs = NULL, *h64 = NULL, *c64 = NULL, *s64 = NULL;
	struct buf tok = BUF_INIT;
	unsigned char *sig = NULL;
	json_t *hdr = NULL;
	size_t siglen = 0;
	int ret = -1;

	if (!json_is_object(claims)) {
		err_set(e, ERR_INVALID, "JWT claims must be a JSON object");
		goto done;
	}
	hdr = json_pack("{s:s, s:s, s:s}", "alg", jwt_alg_name(k->alg),
			"typ", "JWT", "kid", k->kid);
	hs = json_dumps(hdr, flags);
	cs = json_dumps(claims, flags);
	if (!hs || !cs) {
		err_set(e, ERR_INVALID, "JWT claims cannot be written as JSON");
		goto done;
	}
	h64 = jwt_b64url_encode(hs, strlen(hs));
	c64 = jwt_b64url_encode(cs, strlen(cs));
	buf_printf(&tok, "%s.%s", h64, c64);
	if (sign_bytes(&sig, &siglen, k, tok.ptr, tok.len, e) < 0)
		goto done;
	s64 = jwt_b64url_encode(sig, siglen);
	buf_printf(&tok, ".%s", s64);
	*out = buf_detach(&tok, NULL);
	ret = 0;
done:
	json_decref(hdr);
	free(hs);
	free(cs);
	free(h64);
	free(c64);
	free(s64);
	free(sig);
	buf_release(&tok);
	return ret;
}
