/*
 * jwt: keys, JWKs and signing (see jwt.h), on GnuTLS; verification, which
 * takes tokens and JWKS from outside, is in jwt_verify.c (on OpenSSL, and
 * not in the agent's signing path), and the keyring, which owns a folder
 * of key files, in jwt_keyring.c. Both are built on jwt.h's functions
 * only.
 *
 * Private keys never leave this file except as PKCS#8 PEM in a 0600 file;
 * memory that held PEM text is wiped. Messages quote strings that may
 * come from outside (algorithm names) only cut short and with control
 * characters replaced; a GnuTLS failure is told by gnutls_strerror's
 * text, which never holds key material.
 */
#include "jwt.h"
#include "jwt_int.h"
#include "crypto.h"
#include "fs.h"
#include "jsonx.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#define JWT_KEYFILE_MAX	65536		/* a PEM private key file */
#define JWT_RSA_BITS	2048		/* generated RSA keys */
#define JWT_KID_LEN	43		/* base64url of a SHA-256 */

struct jwt_key {
	gnutls_x509_privkey_t x509;	/* owned: the private key (saved) */
	gnutls_privkey_t priv;		/* owned: signs; borrows x509 */
	enum jwt_alg alg;
	size_t rsa_bytes;		/* RS256: the modulus, in bytes */
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
	unsigned char md[CRYPTO_SHA256_LEN];
	char *s;

	crypto_sha256(md, text, len);
	s = jwt_b64url_encode(md, sizeof(md));
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

/* Fill e with what failed and GnuTLS's text for rc, which never holds key
 * material. Returns -1. */
static int gtls_err(struct err *e, enum err_code code, const char *what,
		    int rc)
{
	return err_set(e, code, "%s: %s", what, gnutls_strerror(rc));
}

/* The big-endian number d, without its leading zero bytes, left-padded
 * with zeros to width bytes into out; -1 when it needs more. */
static int be_pad(unsigned char *out, size_t width, const gnutls_datum_t *d)
{
	size_t i = 0, n;

	while (i < d->size && !d->data[i])
		i++;
	n = d->size - i;
	if (n > width)
		return -1;
	memset(out, 0, width - n);
	memcpy(out + width - n, d->data + i, n);
	return 0;
}

/* The big-endian number d as base64url: without leading zero bytes
 * (width 0; NULL when d is 0) or left-padded to width bytes (NULL when d
 * needs more). */
static char *be_b64url(const gnutls_datum_t *d, size_t width)
{
	size_t i = 0;
	unsigned char *b;
	char *s = NULL;

	if (!width) {
		while (i < d->size && !d->data[i])
			i++;
		return i < d->size ? jwt_b64url_encode(d->data + i, d->size - i)
				   : NULL;
	}
	b = xmalloc(width);
	if (be_pad(b, width, d) == 0)
		s = jwt_b64url_encode(b, width);
	free(b);
	return s;
}

/* k->kid and k->jwk from k->priv's public half. An EC key must be on
 * P-256 (ERR_INVALID). */
static int key_make_jwk(struct jwt_key *k, struct err *e)
{
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_pubkey_t pub = NULL;
	char *s1 = NULL, *s2 = NULL;
	int rc, ret = -1;

	rc = gnutls_pubkey_init(&pub);
	if (rc >= 0)
		rc = gnutls_pubkey_import_privkey(pub, k->priv, 0, 0);
	if (rc < 0) {
		gtls_err(e, ERR_INTERNAL, "public key", rc);
		goto done;
	}
	if (k->alg == JWT_RS256) {
		rc = gnutls_pubkey_export_rsa_raw2(pub, &a, &b,
						   GNUTLS_EXPORT_FLAG_NO_LZ);
		if (rc < 0) {
			gtls_err(e, ERR_INTERNAL, "RSA public numbers", rc);
			goto done;
		}
		s1 = be_b64url(&a, 0);
		s2 = be_b64url(&b, 0);
		if (!s1 || !s2) {
			err_set(e, ERR_INVALID, "RSA key with an empty n or e");
			goto done;
		}
		thumbprint_rsa(k->kid, s1, s2);
		k->jwk = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
				   "kty", "RSA", "use", "sig", "alg", "RS256",
				   "kid", k->kid, "n", s1, "e", s2);
	} else {
		rc = gnutls_pubkey_export_ecc_raw2(pub, &curve, &a, &b,
						   GNUTLS_EXPORT_FLAG_NO_LZ);
		if (rc < 0) {
			gtls_err(e, ERR_INTERNAL, "EC public point", rc);
			goto done;
		}
		if (curve != GNUTLS_ECC_CURVE_SECP256R1) {
			err_set(e, ERR_INVALID,
				"an EC key not on the P-256 curve (ES256 needs P-256)");
			goto done;
		}
		s1 = be_b64url(&a, JWT_EC_COORD);
		s2 = be_b64url(&b, JWT_EC_COORD);
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
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
	free(s1);
	free(s2);
	return ret;
}

/* A key from x (taken over, freed on failure); what names it in
 * messages. */
static int key_from_x509(struct jwt_key **out, gnutls_x509_privkey_t x,
			 const char *what, struct err *e)
{
	struct jwt_key *k = NULL;
	unsigned int bits = 0;
	enum jwt_alg alg;
	int pk, rc;

	pk = gnutls_x509_privkey_get_pk_algorithm2(x, &bits);
	if (pk == GNUTLS_PK_RSA) {
		if (bits < JWT_RSA_MIN || bits > JWT_RSA_MAX) {
			err_set(e, ERR_INVALID,
				"%s: an RSA key of %u bits (RS256 takes %d to %d)",
				what, bits, JWT_RSA_MIN, JWT_RSA_MAX);
			goto fail;
		}
		alg = JWT_RS256;
	} else if (pk == GNUTLS_PK_ECDSA) {
		alg = JWT_ES256;	/* the curve is checked by key_make_jwk */
	} else if (pk < 0) {
		gtls_err(e, ERR_INTERNAL, what, pk);
		goto fail;
	} else {
		const char *t = gnutls_pk_get_name((gnutls_pk_algorithm_t)pk);

		err_set(e, ERR_INVALID,
			"%s: a key of type %s; only RSA (RS256) and EC P-256 (ES256) keys sign tokens",
			what, t ? t : "unknown");
		goto fail;
	}
	k = xcalloc(1, sizeof(*k));
	k->x509 = x;
	k->alg = alg;
	if (alg == JWT_RS256)
		k->rsa_bytes = (bits + 7) / 8;
	rc = gnutls_privkey_init(&k->priv);
	if (rc >= 0)
		rc = gnutls_privkey_import_x509(k->priv, x, 0);
	if (rc < 0) {
		jwt_key_free(k);
		return gtls_err(e, ERR_INTERNAL, what, rc);
	}
	if (key_make_jwk(k, e) < 0) {
		jwt_key_free(k);
		return err_wrap(e, "%s", what);
	}
	*out = k;
	return 0;
fail:
	gnutls_x509_privkey_deinit(x);
	return -1;
}

int jwt_key_generate(struct jwt_key **out, enum jwt_alg alg, struct err *e)
{
	gnutls_x509_privkey_t x = NULL;
	int rc;

	rc = gnutls_x509_privkey_init(&x);
	if (rc >= 0 && alg == JWT_RS256)
		rc = gnutls_x509_privkey_generate(x, GNUTLS_PK_RSA, JWT_RSA_BITS, 0);
	else if (rc >= 0 && alg == JWT_ES256)
		rc = gnutls_x509_privkey_generate(x, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	else if (rc >= 0)
		BUG("jwt_key_generate: alg %d", (int)alg);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(x);
		return gtls_err(e, ERR_INTERNAL, "cannot generate a signing key", rc);
	}
	return key_from_x509(out, x, "new key", e);
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

/* The message of a key file GnuTLS did not import: a key type it does
 * not know is ERR_INVALID, anything else (damaged, encrypted, not PEM)
 * ERR_SYNTAX. Never quotes the file. */
static int load_err(struct err *e, const char *path, int rc)
{
	if (rc == GNUTLS_E_ECC_UNSUPPORTED_CURVE)
		return err_set(e, ERR_INVALID,
			       "%s: an EC key not on the P-256 curve (ES256 needs P-256)",
			       path);
	if (rc == GNUTLS_E_UNKNOWN_PK_ALGORITHM)
		return err_set(e, ERR_INVALID,
			       "%s: a key of an unknown type; only RSA (RS256) and EC P-256 (ES256) keys sign tokens",
			       path);
	return err_set(e, ERR_SYNTAX,
		       "%s is not an unencrypted PEM private key (damaged? "
		       "restore it from a backup)", path);
}

int jwt_key_load(struct jwt_key **out, const char *path, struct err *e)
{
	gnutls_x509_privkey_t x = NULL;
	gnutls_datum_t d;
	struct buf b;
	int rc, ret = -1;

	buf_init(&b, JWT_KEYFILE_MAX + 1);
	if (read_key_file(&b, path, e) < 0)
		goto done;
	rc = gnutls_x509_privkey_init(&x);
	if (rc < 0) {
		gtls_err(e, ERR_INTERNAL, path, rc);
		goto done;
	}
	/* no password and GNUTLS_PKCS_PLAIN: an encrypted key fails
	 * (GNUTLS_E_DECRYPTION_FAILED) without a passphrase being asked */
	d.data = (unsigned char *)b.ptr;
	d.size = (unsigned int)b.len;
	rc = gnutls_x509_privkey_import2(x, &d, GNUTLS_X509_FMT_PEM, NULL,
					 GNUTLS_PKCS_PLAIN);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(x);
		load_err(e, path, rc);
		goto done;
	}
	ret = key_from_x509(out, x, path, e);
done:
	if (b.alloc)
		crypto_wipe(b.ptr, b.alloc);
	buf_release(&b);
	return ret;
}

int jwt_key_save(const struct jwt_key *k, const char *path, struct err *e)
{
	gnutls_datum_t pem = { NULL, 0 };
	int rc, ret;

	rc = gnutls_x509_privkey_export2_pkcs8(k->x509, GNUTLS_X509_FMT_PEM,
					       NULL, GNUTLS_PKCS_PLAIN, &pem);
	if (rc < 0)
		return gtls_err(e, ERR_INTERNAL, "cannot encode the private key", rc);
	ret = fs_write_file_sync(path, pem.data, pem.size, 0600, e);
	crypto_wipe(pem.data, pem.size);
	gnutls_free(pem.data);
	return ret;
}

void jwt_key_free(struct jwt_key *k)
{
	if (!k)
		return;
	if (k->priv)
		gnutls_privkey_deinit(k->priv);	/* borrows k->x509 */
	gnutls_x509_privkey_deinit(k->x509);
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

/* JWS signature of data: RSASSA-PKCS1-v1_5 (as wide as the modulus), or
 * ECDSA as raw r || s; GnuTLS gives ECDSA's as DER. *out owned. */
static int sign_bytes(unsigned char **out, size_t *outlen,
		      const struct jwt_key *k, const void *data, size_t len,
		      struct err *e)
{
	gnutls_datum_t in, sig = { NULL, 0 }, r = { NULL, 0 }, s = { NULL, 0 };
	unsigned char *raw = NULL;
	size_t rawlen;
	bool ok;
	int rc, ret = -1;

	if (len > UINT_MAX) {
		err_set(e, ERR_LIMIT, "cannot sign: %zu bytes is too long", len);
		goto done;
	}
	in.data = (unsigned char *)data;
	in.size = (unsigned int)len;
	rc = gnutls_privkey_sign_data2(k->priv, k->alg == JWT_RS256 ?
				       GNUTLS_SIGN_RSA_SHA256 : GNUTLS_SIGN_ECDSA_SHA256,
				       0, &in, &sig);
	if (rc < 0) {
		gtls_err(e, ERR_INTERNAL, "cannot sign", rc);
		goto done;
	}
	if (k->alg == JWT_RS256) {
		rawlen = k->rsa_bytes;
		raw = xmalloc(rawlen);
		ok = be_pad(raw, rawlen, &sig) == 0;
	} else {
		rawlen = 2 * JWT_EC_COORD;
		raw = xmalloc(rawlen);
		ok = gnutls_decode_rs_value(&sig, &r, &s) >= 0 &&
		     be_pad(raw, JWT_EC_COORD, &r) == 0 &&
		     be_pad(raw + JWT_EC_COORD, JWT_EC_COORD, &s) == 0;
	}
	if (!ok) {
		err_set(e, ERR_INTERNAL, "cannot convert the %s signature",
			k->alg == JWT_RS256 ? "RSA" : "ECDSA");
		goto done;
	}
	*out = raw;
	*outlen = rawlen;
	raw = NULL;
	ret = 0;
done:
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	free(raw);
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
