/*
 * Fuzz target for lib/jwt_verify.c and jwt_b64url_decode: the input is a
 * token, a NUL byte, then JWKS JSON text (no NUL: all token, and a JWKS
 * with no keys). The token is verified against the JWKS at a fixed time;
 * a refusal must have the documented shape (code, printable message,
 * nothing returned, OpenSSL's error queue empty), an acceptance must give
 * claims with an exp. Then the whole input is decoded as base64url, into
 * a capped buffer and onto the end of another: a decoding must encode
 * back to the very same text, and a failure must leave the buffer as it
 * was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "lib/buf.h"
#include "lib/jwt.h"
#include "lib/util.h"

#define NOW	1700000000LL
#define LEEWAY	60

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const struct err *e)
{
	if (!e->msg[0])
		abort();
	for (const char *p = e->msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();	/* untrusted text quoted raw */
}

static void fuzz_verify(const char *data, size_t size)
{
	size_t tlen = strnlen(data, size);
	char *token = xstrndup(data, tlen);
	json_t *jwks = NULL, *claims = NULL, *exp;
	struct err e = ERR_INIT;
	json_error_t jerr;

	if (tlen < size)
		jwks = json_loadb(data + tlen + 1, size - tlen - 1,
				  JSON_REJECT_DUPLICATES, &jerr);
	if (!jwks)
		jwks = json_pack("{s:[]}", "keys");
	if (jwt_verify(&claims, token, jwks, NOW, LEEWAY, &e) == 0) {
		exp = json_object_get(claims, "exp");
		if (!json_is_object(claims) || !json_is_number(exp) ||
		    json_number_value(exp) <= NOW - LEEWAY || e.code != ERR_NONE)
			abort();
		json_decref(claims);
	} else {
		if (claims)
			abort();
		switch (e.code) {
		case ERR_SYNTAX:
		case ERR_AUTH:
		case ERR_TIMEOUT:
		case ERR_INVALID:
			break;
		default:
			abort();
		}
		check_message(&e);
	}
	if (ERR_peek_error())
		abort();	/* OpenSSL errors left for other code */
	json_decref(jwks);
	free(token);
}

/* Decode data onto b (which may hold bytes already) and check the
 * result. */
static void decode_into(struct buf *b, const char *data, size_t size)
{
	size_t start = b->len;
	char *before = xstrndup(b->ptr, b->len), *again;
	struct err e = ERR_INIT;

	if (jwt_b64url_decode(b, data, size, &e) == 0) {
		if (b->len != start + size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0) ||
		    b->ptr[b->len] != '\0' || memcmp(b->ptr, before, start))
			abort();
		/* one text per byte string */
		again = jwt_b64url_encode(b->ptr + start, b->len - start);
		if (strlen(again) != size || memcmp(again, data, size))
			abort();
		free(again);
	} else {
		if (b->len != start || memcmp(b->ptr, before, start) ||
		    b->ptr[b->len] != '\0')
			abort();
		if (e.code == ERR_LIMIT ? !b->max : e.code != ERR_SYNTAX)
			abort();
		if (size % 4 == 1 && e.code != ERR_SYNTAX)
			abort();
		check_message(&e);
	}
	free(before);
}

static void fuzz_b64url(const char *data, size_t size)
{
	struct buf capped, grown = BUF_INIT;

	buf_init(&capped, 1024);
	decode_into(&capped, data, size);
	buf_adds(&grown, "prefix");
	decode_into(&grown, data, size);
	buf_release(&capped);
	buf_release(&grown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1u << 17))
		return 0;
	fuzz_verify((const char *)data, size);
	fuzz_b64url((const char *)data, size);
	return 0;
}
