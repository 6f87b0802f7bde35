#!/usr/bin/python3
"""Cross-check gantry's lib/jwt.c against an independent implementation
(PyJWT and python3-cryptography); run by tests/unit/jwt.c.

  jwt_crosscheck.py [verify] JWKS_FILE TOKEN_FILE
      Verify the token with PyJWT, with the key of the JWKS chosen by the
      token's kid (audience not checked; exp and nbf are). Every key's kid
      must also be its RFC 7638 thumbprint, computed here. Prints the
      claims; exit 0 when the token verifies.
  jwt_crosscheck.py sign KEY_PEM ALG
      Print a token signed by PyJWT with the private key in KEY_PEM
      (RS256 or ES256); its kid is the RFC 7638 thumbprint of the key,
      computed here; it expires in 5 minutes.

Exit status: 0 success, 1 token refused, 2 usage or unreadable input,
3 a kid that is not its key's thumbprint, 77 PyJWT or cryptography is
not installed (the C test then skips).
"""
import base64
import hashlib
import json
import sys
import time

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError as exc:  # pragma: no cover
    print("jwt_crosscheck: %s (apt install python3-jwt python3-cryptography)"
          % exc, file=sys.stderr)
    sys.exit(77)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(value, width=0):
    n = width or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(n, "big")


def thumbprint(jwk):
    """RFC 7638: required members only, sorted, no whitespace."""
    if jwk["kty"] == "RSA":
        members = {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}
    elif jwk["kty"] == "EC":
        members = {"crv": jwk["crv"], "kty": "EC", "x": jwk["x"],
                   "y": jwk["y"]}
    else:
        raise ValueError("kty %r" % jwk["kty"])
    canon = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canon.encode("utf-8")).digest())


def public_jwk(pub):
    if isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        return {"kty": "RSA", "n": b64url(int_bytes(nums.n)),
                "e": b64url(int_bytes(nums.e))}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name != "secp256r1":
            raise ValueError("curve %s" % pub.curve.name)
        nums = pub.public_numbers()
        return {"kty": "EC", "crv": "P-256",
                "x": b64url(int_bytes(nums.x, 32)),
                "y": b64url(int_bytes(nums.y, 32))}
    raise ValueError("key type %s" % type(pub).__name__)


def verify(jwks_path, token_path):
    try:
        with open(jwks_path, encoding="utf-8") as f:
            jwks = json.load(f)
        with open(token_path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, ValueError) as exc:
        print("jwt_crosscheck: %s" % exc, file=sys.stderr)
        return 2
    for k in jwks.get("keys", []):
        if k.get("kid") != thumbprint(k):
            print("jwt_crosscheck: kid %s is not the thumbprint %s"
                  % (k.get("kid"), thumbprint(k)), file=sys.stderr)
            return 3
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        found = [k for k in jwks.get("keys", []) if k.get("kid") == kid]
        if len(found) != 1:
            print("jwt_crosscheck: refused: no key %r" % kid, file=sys.stderr)
            return 1
        key = jwt.PyJWK(found[0])
        claims = jwt.decode(token, key.key, algorithms=[found[0]["alg"]],
                            options={"verify_aud": False})
    except jwt.PyJWTError as exc:
        print("jwt_crosscheck: refused: %s" % exc, file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


def sign(key_path, alg):
    if alg not in ("RS256", "ES256"):
        print("jwt_crosscheck: alg %s" % alg, file=sys.stderr)
        return 2
    try:
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        kid = thumbprint(public_jwk(key.public_key()))
    except (OSError, ValueError) as exc:
        print("jwt_crosscheck: %s" % exc, file=sys.stderr)
        return 2
    now = int(time.time())
    claims = {"iss": "https://crosscheck.invalid", "sub": "repo:org/x:ref",
              "aud": "sts.amazonaws.com", "iat": now, "nbf": now,
              "exp": now + 300}
    print(jwt.encode(claims, key, algorithm=alg, headers={"kid": kid}))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "sign":
        return sign(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "verify":
        return verify(argv[2], argv[3])
    if len(argv) == 3:
        return verify(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
