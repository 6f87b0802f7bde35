#!/usr/bin/python3
"""s3proxy: S3's request authentication in front of s3rver, for gantry's tests.

    s3proxy.py --upstream http://127.0.0.1:PORT --keys KEYS.json
               [--port N] [--ready-file PATH] [--region R] [--vhost-domain D]
               [--allow-anonymous] [--spool-dir DIR]

s3rver (the S3 stand-in) checks no SigV4 signature and no payload hash. This
reverse proxy does, as S3 would, before it passes a request on: every request
is rebuilt from what arrived (method, the raw path, the raw query, the values
of exactly the signed headers, the payload hash the client claims) and
botocore's S3SigV4Auth canonicalisation computes the expected signature with
the secret looked up by access key id (KEYS.json). The body is then read
(to a spool: memory, then disk), its SHA-256 compared with
x-amz-content-sha256, its MD5 with Content-MD5 and its x-amz-checksum-*
with theirs; only then is the request forwarded to s3rver and the answer
streamed back. aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, its
-TRAILER form and STREAMING-UNSIGNED-PAYLOAD-TRAILER) are verified chunk by
chunk and forwarded decoded.

Where s3rver falls short of S3 the proxy fills in: listings asked for with
encoding-type=url are url-encoded (s3rver ignores it); DeleteObjects is done
as one DELETE per key, Quiet honoured (s3rver deletes them concurrently and
answers 500 when two remove the same emptied folder); deletes run one at a
time and never beside a write, for the same reason. s3rver knows one access
key, S3RVER, and checks no V4 signature: the forwarded request names that key.

KEYS.json: {"AKID": "secret", "ASIA...": {"secret": "...", "token": "...",
"expires": 1700000000}}; keys starting with "_" are comments.

Serves on 127.0.0.1 only. On start it prints http://127.0.0.1:PORT on stdout
and writes it (no newline) to the ready file, atomically; it serves until
SIGTERM or SIGINT. One line per request goes to stderr (method, path, query
with X-Amz-Signature / X-Amz-Security-Token / X-Amz-Credential redacted,
status, error code, access key id); never a secret, token or signature.

Admin endpoints (never signed, never forwarded), see README.md beside this
file: POST /_proxy/faults, GET /_proxy/faults, GET /_proxy/log,
POST /_proxy/reset, POST /_proxy/keys, GET /_proxy/health.

Written for Debian's /usr/bin/python3 with python3-botocore.
"""

import argparse
import base64
import calendar
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FMT = "%Y%m%dT%H%M%SZ"
SKEW = 900                          # seconds, as S3
MAX_PRESIGN = 604800                # 7 days
MAX_PUT = 5 * 1024 ** 3             # S3's single PUT limit
SPOOL_MEMORY = 8 << 20              # bodies above this go to a temporary file
PIECE = 64 << 10
DRAIN_LIMIT = 64 << 20              # an unwanted body is read up to this, else the connection closes
UPSTREAM_IDLE = 2.0                 # s3rver (node) drops idle keep-alive connections after 5 s
UPSTREAM_TIMEOUT = 120
LOG_LIMIT = 200000
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                   "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade",
              "expect", "host", "content-length"}
REDACTED_QUERY = {"x-amz-signature", "x-amz-security-token", "x-amz-credential", "signature",
                  "awsaccesskeyid"}
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature "
                      "you provided. Check your key and signing method.")
UNKNOWN_KEY = "The AWS Access Key Id you provided does not exist in our records."
FAULT_STATUS = {"SlowDown": 503, "ServiceUnavailable": 503, "InternalError": 500,
                "RequestTimeout": 400, "AccessDenied": 403, "NoSuchKey": 404,
                "NoSuchBucket": 404, "RequestTimeTooSkewed": 403,
                "ExpiredToken": 400, "SignatureDoesNotMatch": 403}
FAULT_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "ServiceUnavailable": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "RequestTimeout": ("Your socket connection to the server was not read from or written "
                       "to within the timeout period. Idle connections will be closed."),
    "AccessDenied": "Access Denied",
    "NoSuchKey": "The specified key does not exist.",
    "NoSuchBucket": "The specified bucket does not exist",
    "ExpiredToken": "The provided token has expired.",
}
CHECKSUM_NAMES = {"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME",
                  "sha1": "SHA1", "sha256": "SHA256"}


def log(msg):
    try:
        sys.stderr.write("s3proxy: %s\n" % msg)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def amz(t):
    return time.strftime(AMZ_DATE_FMT, time.gmtime(int(t)))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


def request_id():
    return os.urandom(8).hex().upper()


class S3Error(Exception):
    """An S3 error answer: status, code, message and extra elements."""

    def __init__(self, status, code, message, extra=(), close=False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = list(extra)
        self.close = close          # the body's framing is lost: close the connection


class BodyError(Exception):
    """The client's body ended early or its framing is broken."""


def error_xml(err, rid, host_id):
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
             % (xml_escape(err.code), xml_escape(err.message))]
    for name, value in err.extra:
        parts.append("<%s>%s</%s>" % (name, xml_escape(str(value)), name))
    parts.append("<RequestId>%s</RequestId><HostId>%s</HostId></Error>" % (rid, host_id))
    return "".join(parts).encode("utf-8")


# ------------------------------------------------------------------ checksums

def _crc_table(poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c & ((1 << width) - 1))
    return table


class _TableCrc:
    """Reflected CRC (CRC32C, CRC64/NVME) in pure Python: slow, only when asked for."""
    tables = {}

    def __init__(self, poly, width):
        key = (poly, width)
        if key not in _TableCrc.tables:
            _TableCrc.tables[key] = _crc_table(poly, width)
        self.table = _TableCrc.tables[key]
        self.width = width
        self.mask = (1 << width) - 1
        self.crc = self.mask

    def update(self, data):
        c, t = self.crc, self.table
        for b in data:
            c = t[(c ^ b) & 0xFF] ^ (c >> 8)
        self.crc = c

    def digest(self):
        return (self.crc ^ self.mask).to_bytes(self.width // 8, "big")


class _Crc32:
    def __init__(self):
        self.crc = 0

    def update(self, data):
        self.crc = zlib.crc32(data, self.crc)

    def digest(self):
        return self.crc.to_bytes(4, "big")


def new_checksum(name):
    if name == "crc32":
        return _Crc32()
    if name == "crc32c":
        return _TableCrc(0x82F63B78, 32)
    if name == "crc64nvme":
        return _TableCrc(0x9A6C9329AC4BC9B5, 64)
    if name == "sha1":
        return hashlib.sha1()
    if name == "sha256":
        return hashlib.sha256()
    return None


# ------------------------------------------------------------------ keys and faults

def load_keys(raw):
    if not isinstance(raw, dict):
        raise ValueError("keys: a JSON object {access key id: secret or {secret, token}}")
    keys = {}
    for akid, val in raw.items():
        if akid.startswith("_"):
            continue
        if isinstance(val, str):
            val = {"secret": val}
        if not isinstance(val, dict) or not isinstance(val.get("secret"), str) or not val["secret"]:
            raise ValueError("keys: %s: needs a secret" % akid)
        unknown = set(val) - {"secret", "token", "expires"}
        if unknown:
            raise ValueError("keys: %s: unknown fields %s" % (akid, sorted(unknown)))
        if val.get("token") is not None and not isinstance(val["token"], str):
            raise ValueError("keys: %s: token must be a string" % akid)
        exp = val.get("expires")
        if isinstance(exp, str):
            exp = calendar.timegm(time.strptime(exp, "%Y-%m-%dT%H:%M:%SZ"))
        elif exp is not None and not isinstance(exp, (int, float)):
            raise ValueError("keys: %s: expires must be epoch seconds or YYYY-MM-DDTHH:MM:SSZ" % akid)
        keys[akid] = {"secret": val["secret"], "token": val.get("token"), "expires": exp}
    return keys


def parse_fault(f):
    if not isinstance(f, dict):
        raise ValueError("a fault must be an object")
    unknown = set(f) - {"method", "path_re", "status", "code", "message", "count", "drop",
                        "after_bytes", "delay"}
    if unknown:
        raise ValueError("fault: unknown fields %s" % sorted(unknown))
    method = f.get("method", "*")
    if not isinstance(method, str) or not method:
        raise ValueError("fault: 'method' must be an HTTP method or '*'")
    path_re = f.get("path_re", "")
    try:
        rx = re.compile(path_re)
    except (re.error, TypeError) as e:
        raise ValueError("fault: 'path_re': %s" % e)
    count = f.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("fault: 'count' must be a positive integer")
    delay = f.get("delay", 0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 300:
        raise ValueError("fault: 'delay' must be 0..300 seconds")
    out = {"method": method.upper(), "path_re": path_re, "rx": rx, "count": count,
           "delay": delay, "drop": bool(f.get("drop")), "after_bytes": None,
           "status": None, "code": None, "message": None}
    after = f.get("after_bytes")
    if after is not None:
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise ValueError("fault: 'after_bytes' must be a byte count >= 0")
        out["after_bytes"] = after
        out["drop"] = True
        return out
    if out["drop"]:
        return out
    code = f.get("code")
    status = f.get("status", FAULT_STATUS.get(code))
    if not isinstance(code, str) or not code:
        raise ValueError("fault: 'code' must be an S3 error code (or 'drop': true)")
    if not isinstance(status, int) or isinstance(status, bool) or not 300 <= status <= 599:
        raise ValueError("fault: 'status' must be 300..599")
    message = f.get("message", FAULT_MESSAGES.get(code, code))
    if not isinstance(message, str):
        raise ValueError("fault: 'message' must be a string")
    out.update(status=status, code=code, message=message)
    return out


def fault_view(f):
    return {k: v for k, v in f.items() if k != "rx"}


class RWLock:
    """Many holders in shared mode, or one in exclusive mode (waiting writers first)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.readers = 0
        self.writer = False
        self.waiting_writers = 0

    def acquire(self, exclusive):
        with self.cond:
            if exclusive:
                self.waiting_writers += 1
                while self.writer or self.readers:
                    self.cond.wait()
                self.waiting_writers -= 1
                self.writer = True
            else:
                while self.writer or self.waiting_writers:
                    self.cond.wait()
                self.readers += 1

    def release(self, exclusive):
        with self.cond:
            if exclusive:
                self.writer = False
            else:
                self.readers -= 1
            self.cond.notify_all()


class State:
    def __init__(self, keys, region, allow_anonymous):
        self.lock = threading.Lock()
        # s3rver removes a folder that a delete left empty without care for
        # concurrent deletes or writes in it (ENOENT: 500 InternalError):
        # deletes go one at a time, and never beside a write
        self.mutation = RWLock()
        self.keys = keys
        self.region = region
        self.allow_anonymous = allow_anonymous
        self.faults = []
        self.log = []

    def take_fault(self, method, target):
        with self.lock:
            for f in self.faults:
                if f["method"] not in ("*", method):
                    continue
                if not f["rx"].search(target):
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            if len(self.log) > LOG_LIMIT:
                del self.log[:len(self.log) - LOG_LIMIT]


# ------------------------------------------------------------------ SigV4

def split_query(raw):
    out = []
    for part in raw.split("&") if raw else ():
        if part:
            name, _, value = part.partition("=")
            out.append((name, value))
    return out


def _unquote_query(s):
    # as S3 (and s3rver's koa) read a query: '+' is a space
    return urllib.parse.unquote_plus(s, errors="surrogateescape")


def _query_bytes(s):
    # the request line arrives as latin-1 text; the octets are what count
    return urllib.parse.unquote_to_bytes(s.replace("+", " ").encode("latin-1", "replace"))


def canonical_path(raw_path):
    """S3's canonical URI: the path's octets decoded once and encoded again
    (unreserved characters and '/' kept); no '.', '..' or '//' folding."""
    return urllib.parse.quote(urllib.parse.unquote_to_bytes(raw_path.encode("latin-1", "replace")),
                              safe="/-_.~")


def canonical_query(raw_query, drop=()):
    pairs = []
    for name, value in split_query(raw_query):
        if _unquote_query(name) in drop:
            continue
        pairs.append((urllib.parse.quote(_query_bytes(name), safe="-_.~"),
                      urllib.parse.quote(_query_bytes(value), safe="-_.~")))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def redact_query(raw_query):
    out = []
    for name, value in split_query(raw_query):
        if _unquote_query(name).lower() in REDACTED_QUERY:
            value = "REDACTED"
        out.append(name + ("=" + value if value != "" else ""))
    return "&".join(out)


def header_text(value):
    """http.server decodes headers as latin-1; S3 signs the bytes as sent (UTF-8)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Auth:
    """What a request's signature claims, from the Authorization header or the query."""
    mode = None                 # "header", "query" or None (anonymous)
    access_key = None
    scope_date = region = service = terminator = None
    signed_headers = ()
    signature = None
    amz_date = None
    token = None
    expires = None
    payload_hash = None         # what the canonical request uses
    secret = None
    ok = False


class _Verifier(S3SigV4Auth):
    """botocore's S3 SigV4 over exactly the headers the client signed."""

    def __init__(self, secret, service, region, signed, values):
        super().__init__(Credentials("unused", secret), service, region)
        self._signed = signed
        self._values = values

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            for value in self._values.get(name, ()):
                out[name] = value
        return out


def compute_signature(method, raw_path, raw_query, headers, auth):
    """(signature hex, canonical request, string to sign) as S3 would compute them."""
    values = {}
    for name in auth.signed_headers:
        got = headers.get_all(name)
        values[name] = [header_text(v) for v in got] if got else [""]
    query = canonical_query(raw_query, drop=("X-Amz-Signature",) if auth.mode == "query" else ())
    url = "http://s3proxy%s%s" % (canonical_path(raw_path), "?" + query if query else "")
    areq = AWSRequest(method=method, url=url, data=b"")
    areq.headers["X-Amz-Content-SHA256"] = auth.payload_hash
    areq.context["timestamp"] = auth.amz_date
    v = _Verifier(auth.secret, auth.service, auth.region, auth.signed_headers, values)
    creq = v.canonical_request(areq)
    sts = v.string_to_sign(areq, creq)
    return v.signature(sts, areq), creq, sts


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def malformed(mode, message):
    if mode == "query":
        return S3Error(400, "AuthorizationQueryParametersError", message)
    return S3Error(400, "AuthorizationHeaderMalformed", message)


def parse_auth(method, raw_query, headers):
    a = Auth()
    authz = headers.get("authorization")
    q = {}
    for name, value in split_query(raw_query):
        q.setdefault(_unquote_query(name), _unquote_query(value))
    presigned = "X-Amz-Algorithm" in q or "X-Amz-Signature" in q
    v2 = "Signature" in q and "AWSAccessKeyId" in q
    if authz is None and not presigned and not v2:
        return a
    if (authz is not None) + presigned + v2 > 1:
        raise S3Error(400, "InvalidArgument",
                      "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                      "parameter, Signature query string parameter or the Authorization "
                      "header should be specified",
                      [("ArgumentName", "Authorization")])
    if v2 or (authz is not None and authz.startswith("AWS ")):
        raise S3Error(400, "InvalidRequest",
                      "The authorization mechanism you have provided is not supported. "
                      "Please use AWS4-HMAC-SHA256.")
    if authz is not None:
        a.mode = "header"
        scheme, _, rest = authz.strip().partition(" ")
        if scheme != ALGORITHM:
            raise S3Error(400, "InvalidArgument", "Unsupported Authorization Type",
                          [("ArgumentName", "Authorization")])
        fields = {}
        for part in rest.split(","):
            part = part.strip()
            if not part:
                continue
            k, eq, v = part.partition("=")
            if not eq:
                raise malformed("header", "The authorization header is malformed; the "
                                "authorization component \"%s\" is malformed." % part[:60])
            fields[k.strip()] = v.strip()
        for k in ("Credential", "SignedHeaders", "Signature"):
            if not fields.get(k):
                raise malformed("header", "The authorization header is malformed; the "
                                "authorization header requires three components: "
                                "Credential, SignedHeaders, and Signature.")
        credential = fields["Credential"]
        a.signed_headers = fields["SignedHeaders"].split(";")
        a.signature = fields["Signature"]
        a.amz_date = headers.get("x-amz-date")
        a.token = headers.get("x-amz-security-token")
        if a.amz_date is None:
            raise S3Error(403, "AccessDenied",
                          "AWS authentication requires a valid Date or x-amz-date header")
    else:
        a.mode = "query"
        if q.get("X-Amz-Algorithm") != ALGORITHM:
            raise malformed("query", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        need = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                "X-Amz-Expires")
        if any(not q.get(k) for k in need):
            raise malformed("query", "Query-string authentication version 4 requires the "
                            "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
                            "X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        credential = q["X-Amz-Credential"]
        a.signed_headers = q["X-Amz-SignedHeaders"].split(";")
        a.signature = q["X-Amz-Signature"]
        a.amz_date = q["X-Amz-Date"]
        a.token = q.get("X-Amz-Security-Token")
        try:
            a.expires = int(q["X-Amz-Expires"])
        except ValueError:
            a.expires = -1
        if not 0 < a.expires <= MAX_PRESIGN:
            raise malformed("query", "X-Amz-Expires must be less than a week (in seconds) "
                            "that is; the given X-Amz-Expires must be less than 604800 seconds")
    parts = credential.split("/")
    if len(parts) != 5:
        raise malformed(a.mode, "The authorization header is malformed; the Credential is "
                        "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
    a.access_key, a.scope_date, a.region, a.service, a.terminator = parts
    return a


def authenticate(state, method, raw_path, raw_query, headers, seen=None):
    """Auth for a request (ok, secret filled in), or S3Error as S3 would answer.
    seen(auth) is called as soon as the claimed access key id is known."""
    a = parse_auth(method, raw_query, headers)
    if seen is not None:
        seen(a)
    if a.mode is None:
        if state.allow_anonymous:
            return a
        raise S3Error(403, "AccessDenied", "Access Denied")
    if a.mode == "header":
        claimed = headers.get("x-amz-content-sha256")
        if claimed is None:
            raise S3Error(400, "InvalidRequest",
                          "Missing required header for this request: x-amz-content-sha256")
        if claimed in STREAMING_ECDSA:
            raise S3Error(501, "NotImplemented",
                          "s3proxy does not verify SigV4a (ECDSA) streaming signatures")
        if claimed not in (UNSIGNED, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
                           STREAMING_UNSIGNED_TRAILER) and not SHA256_RE.match(claimed):
            raise S3Error(400, "InvalidArgument",
                          "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                          "STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                          [("ArgumentName", "x-amz-content-sha256"), ("ArgumentValue", claimed)])
        a.payload_hash = claimed
    else:
        a.payload_hash = UNSIGNED
    with state.lock:
        key = state.keys.get(a.access_key)
    if key is None:
        raise S3Error(403, "InvalidAccessKeyId", UNKNOWN_KEY, [("AWSAccessKeyId", a.access_key)])
    if key["token"] is None:
        if a.token is not None:
            raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.",
                          [("Token-0", "REDACTED")])
    else:
        if a.token is None:
            # a session key does not exist without its token
            raise S3Error(403, "InvalidAccessKeyId", UNKNOWN_KEY, [("AWSAccessKeyId", a.access_key)])
        if not hmac.compare_digest(a.token.encode(), key["token"].encode()):
            raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.",
                          [("Token-0", "REDACTED")])
        if key["expires"] is not None and time.time() >= key["expires"]:
            raise S3Error(400, "ExpiredToken", "The provided token has expired.",
                          [("Token-0", "REDACTED")])
    try:
        t_req = calendar.timegm(time.strptime(a.amz_date, AMZ_DATE_FMT))
    except ValueError:
        if a.mode == "query":
            raise malformed("query", "X-Amz-Date must be in the ISO8601 Long Format "
                            "\"yyyyMMdd'T'HHmmss'Z'\"")
        raise S3Error(403, "AccessDenied",
                      "AWS authentication requires a valid Date or x-amz-date header")
    if a.terminator != "aws4_request":
        raise malformed(a.mode, "The authorization header is malformed; incorrect terminal "
                        "\"%s\". This endpoint uses \"aws4_request\"." % a.terminator[:40])
    if a.service != "s3":
        raise malformed(a.mode, "The authorization header is malformed; incorrect service "
                        "\"%s\". This endpoint belongs to \"s3\"." % a.service[:40])
    if state.region != "*" and a.region != state.region:
        err = malformed(a.mode, "The authorization header is malformed; the region '%s' is "
                        "wrong; expecting '%s'" % (a.region[:40], state.region))
        err.extra.append(("Region", state.region))
        raise err
    if a.scope_date != a.amz_date[:8]:
        raise malformed(a.mode, "The authorization header is malformed; Invalid credential "
                        "date. Date is not the same as X-Amz-Date.")
    if "host" not in a.signed_headers:
        raise malformed(a.mode, "The authorization header is malformed; 'Host' must be a "
                        "signed header.")
    if a.mode == "header":
        unsigned = sorted({n.lower() for n in headers.keys() if n.lower().startswith("x-amz-")}
                          - set(a.signed_headers))
        if unsigned:
            raise S3Error(403, "AccessDenied",
                          "There were headers present in the request which were not signed",
                          [("HeadersNotSigned", ", ".join(unsigned))])
    now = time.time()
    if a.mode == "header" and abs(now - t_req) > SKEW:
        raise S3Error(403, "RequestTimeTooSkewed",
                      "The difference between the request time and the current time is too large.",
                      [("RequestTime", a.amz_date), ("ServerTime", iso(now)),
                       ("MaxAllowedSkewMilliseconds", SKEW * 1000)])
    if a.mode == "query":
        if t_req > now + SKEW:
            raise S3Error(403, "AccessDenied", "Request is not valid yet",
                          [("X-Amz-Date", a.amz_date), ("ServerTime", iso(now))])
        if now > t_req + a.expires:
            raise S3Error(403, "AccessDenied", "Request has expired",
                          [("X-Amz-Expires", a.expires), ("Expires", iso(t_req + a.expires)),
                           ("ServerTime", iso(now))])
    a.secret = key["secret"]
    want, creq, sts = compute_signature(method, raw_path, raw_query, headers, a)
    if not hmac.compare_digest(want.encode(), a.signature.encode()):
        raise S3Error(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH,
                      [("AWSAccessKeyId", a.access_key), ("StringToSign", sts),
                       ("SignatureProvided", a.signature),
                       ("StringToSignBytes", " ".join("%02x" % b for b in sts.encode())),
                       ("CanonicalRequest", creq),
                       ("CanonicalRequestBytes", " ".join("%02x" % b for b in creq.encode()))])
    a.ok = True
    return a


# ------------------------------------------------------------------ bodies

class LengthBody:
    def __init__(self, rfile, n):
        self.f = rfile
        self.left = n

    def read(self, n):
        if self.left <= 0:
            return b""
        data = self.f.read(min(n, self.left))
        if not data:
            raise BodyError("the body ended %d bytes early" % self.left)
        self.left -= len(data)
        return data


class ChunkedBody:
    """HTTP/1.1 Transfer-Encoding: chunked."""

    def __init__(self, rfile):
        self.f = rfile
        self.left = 0
        self.done = False

    def read(self, n):
        if self.done:
            return b""
        if self.left == 0:
            line = self.f.readline(1024)
            if not line.endswith(b"\n"):
                raise BodyError("bad chunk size line")
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BodyError("bad chunk size line")
            if size < 0:
                raise BodyError("bad chunk size")
            if size == 0:
                while True:
                    t = self.f.readline(8192)
                    if t in (b"\r\n", b"\n"):
                        break
                    if not t.endswith(b"\n"):
                        raise BodyError("bad chunked trailer")
                self.done = True
                return b""
            self.left = size
        data = self.f.read(min(n, self.left))
        if not data:
            raise BodyError("the body ended inside a chunk")
        self.left -= len(data)
        if self.left == 0 and self.f.readline(8) not in (b"\r\n", b"\n"):
            raise BodyError("a chunk does not end with CRLF")
        return data


class LineReader:
    """readline() and bounded reads over a read(n) source (for aws-chunked)."""

    def __init__(self, src):
        self.src = src
        self.buf = b""

    def readline(self, limit):
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise S3Error(400, "IncompleteBody", "An aws-chunked line is too long", close=True)
            data = self.src.read(PIECE)
            if not data:
                raise S3Error(400, "IncompleteBody",
                              "You did not provide the number of bytes specified by the "
                              "Content-Length HTTP header", close=True)
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read_upto(self, n):
        if not self.buf:
            data = self.src.read(min(n, PIECE))
            if not data:
                raise S3Error(400, "IncompleteBody",
                              "You did not provide the number of bytes specified by the "
                              "Content-Length HTTP header", close=True)
            return data
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def at_end(self):
        return not self.buf and not self.src.read(1)


def chunk_string_to_sign(amz_date, scope, prev, chunk_sha256):
    return "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA256,
                      chunk_sha256])


def trailer_string_to_sign(amz_date, scope, prev, trailer_bytes):
    return "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                      hashlib.sha256(trailer_bytes).hexdigest()])


def aws_chunked(src, mode, key, amz_date, scope, seed, trailers_out):
    """Generator of the decoded data of an aws-chunked body; checks every chunk
    signature (signed modes) and collects the trailers into trailers_out."""
    lr = LineReader(src)
    signed = mode in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
    prev = seed
    bad_sig = S3Error(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, close=True)
    while True:
        line = lr.readline(4096).rstrip(b"\r\n").decode("latin-1")
        size_text, _, ext = line.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise S3Error(400, "IncompleteBody", "Bad aws-chunked chunk header", close=True)
        sig = None
        if ext:
            name, _, value = ext.partition("=")
            if name.strip() == "chunk-signature":
                sig = value.strip()
        if signed and sig is None:
            raise S3Error(400, "IncompleteBody", "An aws-chunked chunk has no chunk-signature",
                          close=True)
        h = hashlib.sha256()
        left = size
        while left:
            piece = lr.read_upto(left)
            h.update(piece)
            left -= len(piece)
            yield piece
        if signed:
            want = hmac.new(key, chunk_string_to_sign(amz_date, scope, prev, h.hexdigest()).encode(),
                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want.encode(), sig.encode()):
                raise bad_sig
            prev = sig
        if size == 0:
            break
        if lr.readline(8) not in (b"\r\n", b"\n"):
            raise S3Error(400, "IncompleteBody", "An aws-chunked chunk does not end with CRLF",
                          close=True)
    if mode == STREAMING_SIGNED:
        if lr.readline(8) not in (b"\r\n", b"\n"):
            raise S3Error(400, "IncompleteBody", "aws-chunked body does not end with CRLF",
                          close=True)
    else:
        canon = b""
        trailer_sig = None
        while True:
            t = lr.readline(8192)
            if t in (b"\r\n", b"\n"):
                break
            name, colon, value = t.rstrip(b"\r\n").partition(b":")
            if not colon:
                raise S3Error(400, "MalformedTrailerError",
                              "The request contained trailing data that was not well-formed "
                              "or did not conform to our published schema.", close=True)
            name = name.strip().lower().decode("latin-1")
            value = value.strip().decode("latin-1")
            if name == "x-amz-trailer-signature":
                trailer_sig = value
                continue
            trailers_out[name] = value
            canon += ("%s:%s\n" % (name, value)).encode("latin-1")
        if signed:
            if trailer_sig is None:
                raise S3Error(400, "MalformedTrailerError",
                              "The request contained trailing data that was not well-formed "
                              "or did not conform to our published schema.", close=True)
            want = hmac.new(key, trailer_string_to_sign(amz_date, scope, prev, canon).encode(),
                            hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want.encode(), trailer_sig.encode()):
                raise bad_sig
    if not lr.at_end():
        raise S3Error(400, "IncompleteBody", "Data after the end of the aws-chunked body",
                      close=True)


# ------------------------------------------------------------------ listings

_LIST_FIELDS = re.compile(
    r"<(Key|Prefix|Delimiter|StartAfter|Marker|NextMarker)>(.*?)</\1>", re.S)


_XML_REF = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_XML_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _xml_text(s):
    """XML character data to text: the five named entities and numeric references
    (s3rver writes ' as &#x27;)."""
    def one(m):
        r = m.group(1)
        if r.startswith("#x"):
            return chr(int(r[2:], 16))
        if r.startswith("#"):
            return chr(int(r[1:]))
        return _XML_NAMED[r]
    return _XML_REF.sub(one, s)


def url_encode_listing(body):
    """encoding-type=url, which s3rver ignores: encode what S3 encodes, say so."""
    text = body.decode("utf-8")
    if "<EncodingType>" in text:
        return body

    def enc(m):
        raw = _xml_text(m.group(2))
        return "<%s>%s</%s>" % (m.group(1), urllib.parse.quote_plus(raw, safe="/"), m.group(1))

    text = _LIST_FIELDS.sub(enc, text)
    text = text.replace("</ListBucketResult>", "<EncodingType>url</EncodingType></ListBucketResult>")
    return text.encode("utf-8")


# ------------------------------------------------------------------ HTTP

class Dropped(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    rbufsize = 1 << 16

    def version_string(self):
        return "s3proxy"

    def log_message(self, fmt, *args):       # the default would log the query
        pass

    def handle_expect_100(self):
        # 100 Continue only once the signature is known to be good (as S3)
        self._expect = True
        return True

    def setup(self):
        super().setup()
        self._up = None
        self._up_last = 0.0
        self._expect = False

    def finish(self):
        self._close_upstream()
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    @property
    def state(self):
        return self.server.state

    # -- plumbing -----------------------------------------------------------
    def raw_target(self):
        # self.path may have been altered (leading '//' folded); the request line has it as sent
        parts = self.requestline.split(" ")
        return parts[1] if len(parts) >= 2 else self.path

    def body_stream(self):
        te = (self.headers.get("transfer-encoding") or "").lower().strip()
        if te:
            if te != "chunked":
                raise S3Error(501, "NotImplemented",
                              "A header you provided implies functionality that is not implemented",
                              [("Header", "Transfer-Encoding")], close=True)
            return ChunkedBody(self.rfile), None
        cl = self.headers.get("content-length")
        if cl is None:
            return None, None
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            raise S3Error(400, "InvalidArgument", "Bad Content-Length", close=True)
        return (LengthBody(self.rfile, n) if n else None), n

    def send_continue(self):
        if self._expect and not self._continued:
            self._continued = True
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

    def discard_body(self):
        """Before an answer that does not need the body: read it away when that is
        cheap, else close the connection after answering."""
        if self._body is None or self._body_read:
            return
        if self._expect and not self._continued:
            self.close_connection = True
            return
        total = 0
        try:
            while True:
                data = self._body.read(PIECE)
                if not data:
                    break
                total += len(data)
                if total > DRAIN_LIMIT:
                    self.close_connection = True
                    return
        except (BodyError, OSError, socket.timeout):
            self.close_connection = True
        self._body_read = True

    def send_error_xml(self, err):
        rid = request_id()
        body = b"" if self.command == "HEAD" else error_xml(err, rid, base64.b64encode(os.urandom(24)).decode())
        if err.close:
            self.close_connection = True
        self.send_response_only(err.status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", rid)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()
        self._status = err.status
        self._code = err.code

    def send_json(self, status, obj):
        body = (json.dumps(obj, indent=1) + "\n").encode()
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._status = status

    def drop(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._dropped = True

    # -- one request --------------------------------------------------------
    def dispatch(self):
        self._status = None
        self._code = None
        self._dropped = False
        self._fault = None
        self._bytes_in = 0
        self._bytes_out = 0
        self._expect = getattr(self, "_expect", False)
        self._continued = False
        self._body = None
        self._body_read = False
        self._auth = None
        started = time.monotonic()
        target = self.raw_target()
        raw_path, _, raw_query = target.partition("?")
        admin = raw_path.startswith("/_proxy/")
        try:
            try:
                self._body, self._length = self.body_stream()
            except S3Error as e:
                self.send_error_xml(e)
                return
            if admin:
                return self.admin(raw_path)
            self.s3(raw_path, raw_query, target)
        except Dropped:
            pass
        except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
            self.close_connection = True
            self._dropped = True
            self._code = self._code or "client-" + e.__class__.__name__
        finally:
            self._expect = False
            shown_q = redact_query(raw_query)
            a = self._auth
            akid = a.access_key if a is not None else None
            log("%s %s%s %s %s%s%s" % (
                self.command, raw_path[:300], ("?" + shown_q[:200]) if shown_q else "",
                "dropped" if self._dropped and self._status is None else self._status,
                self._code or "-", " key=%s" % akid if akid else "",
                " fault" if self._fault else ""))
            if not admin:
                self.state.record({
                    "method": self.command, "path": raw_path, "query": shown_q,
                    "status": self._status, "code": self._code,
                    "signed_ok": bool(a is not None and a.ok), "access_key": akid,
                    "fault": self._fault, "dropped": self._dropped,
                    "bytes_in": self._bytes_in, "bytes_out": self._bytes_out,
                    "time": round(time.time(), 3),
                    "ms": int((time.monotonic() - started) * 1000)})

    def admin(self, path):
        st = self.state
        body = b""
        if self._body is not None:
            self.send_continue()
            try:
                chunks = []
                while True:
                    d = self._body.read(PIECE)
                    if not d:
                        break
                    chunks.append(d)
                    if sum(map(len, chunks)) > (1 << 20):
                        raise BodyError("too large")
                body = b"".join(chunks)
            except BodyError:
                self.close_connection = True
                return self.send_json(400, {"error": "bad admin request body"})
            self._body_read = True
        if path == "/_proxy/health" and self.command == "GET":
            return self.send_json(200, {"ok": True, "upstream": self.server.upstream_url})
        if path == "/_proxy/log" and self.command == "GET":
            with st.lock:
                entries = list(st.log)
            return self.send_json(200, entries)
        if path == "/_proxy/faults" and self.command == "GET":
            with st.lock:
                faults = [fault_view(f) for f in st.faults]
            return self.send_json(200, faults)
        if self.command != "POST":
            return self.send_json(404, {"error": "no such admin endpoint"})
        if path == "/_proxy/reset":
            with st.lock:
                st.faults = []
                st.log = []
            return self.send_json(200, {"ok": True})
        try:
            obj = json.loads(body or b"null")
        except ValueError:
            return self.send_json(400, {"error": "body is not JSON"})
        if path == "/_proxy/faults":
            items = obj if isinstance(obj, list) else [obj]
            parsed = []
            for f in items:
                try:
                    parsed.append(parse_fault(f))
                except ValueError as e:
                    return self.send_json(400, {"error": str(e)})
            with st.lock:
                st.faults.extend(parsed)
            return self.send_json(200, {"ok": True, "faults": len(parsed)})
        if path == "/_proxy/keys":
            try:
                keys = load_keys(obj)
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
            with st.lock:
                st.keys = keys
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "no such admin endpoint"})

    def s3(self, raw_path, raw_query, target):
        st = self.state
        if not raw_path.startswith("/") or not target.isascii():
            # (a raw, unencoded non-ASCII octet included: encode the path)
            self.discard_body()
            return self.send_error_xml(S3Error(400, "InvalidURI", "Couldn't parse the specified URI.",
                                               [("URI", target.encode("latin-1", "replace")
                                                 .decode("utf-8", "replace")[:300])]))
        try:
            authenticate(st, self.command, raw_path, raw_query, self.headers,
                         seen=lambda a: setattr(self, "_auth", a))
        except S3Error as e:
            self.discard_body()
            return self.send_error_xml(e)
        fault = st.take_fault(self.command, target)
        if fault is not None:
            self._fault = fault_view(fault)
            if fault["delay"]:
                time.sleep(fault["delay"])
            if fault["drop"] and fault["after_bytes"] is None:
                self.drop()
                raise Dropped()
            if not fault["drop"]:
                self.discard_body()
                return self.send_error_xml(S3Error(fault["status"], fault["code"], fault["message"]))
        try:
            spool, extra = self.receive_body()
        except S3Error as e:
            if not self._body_read:
                self.discard_body()
            return self.send_error_xml(e)
        after_bytes = fault["after_bytes"] if fault is not None else None
        mode = None
        multi_delete = None
        if self.command == "POST" and any(_unquote_query(n) == "delete"
                                          for n, _ in split_query(raw_query)):
            up = self.upstream_path(raw_path).rstrip("/")
            if up.count("/") == 1 and len(up) > 1:
                multi_delete = up
            mode = True
        elif self.command == "DELETE":
            mode = True
        elif self.command in ("PUT", "POST"):
            mode = False
        try:
            if mode is not None:
                st.mutation.acquire(mode)
            try:
                if multi_delete:
                    try:
                        self.multi_delete(multi_delete, spool, after_bytes)
                    except S3Error as e:
                        self.send_error_xml(e)
                else:
                    self.forward(raw_path, raw_query, spool, extra, after_bytes)
            finally:
                if mode is not None:
                    st.mutation.release(mode)
        finally:
            if spool is not None:
                spool.close()

    def receive_body(self):
        """The request body, checked, in a spool; and forwarding adjustments."""
        h = self.headers
        a = self._auth
        extra = {}
        enc = [e.strip() for e in (h.get("content-encoding") or "").split(",") if e.strip()]
        aws_chunked_mode = a.payload_hash if a.payload_hash in (
            STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER) else None
        if aws_chunked_mode is None and "aws-chunked" in enc:
            raise S3Error(400, "InvalidArgument",
                          "Content-Encoding aws-chunked needs a STREAMING-* x-amz-content-sha256")
        if self.command == "PUT" and self._body is None and self._length is None and \
                aws_chunked_mode is None:
            raise S3Error(411, "MissingContentLength",
                          "You must provide the Content-Length HTTP header.")
        if self._length is not None and self._length > MAX_PUT + (1 << 20):
            raise S3Error(400, "EntityTooLarge",
                          "Your proposed upload exceeds the maximum allowed size",
                          [("ProposedSize", self._length), ("MaxSizeAllowed", MAX_PUT)])
        md5_b64 = h.get("content-md5")
        want_md5 = None
        if md5_b64 is not None:
            try:
                want_md5 = base64.b64decode(md5_b64.strip(), validate=True)
            except ValueError:
                want_md5 = b""
            if len(want_md5) != 16:
                raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was not valid.",
                              [("Content-MD5", md5_b64)])
        # x-amz-checksum-* headers; trailers are checked once read
        sums = {}
        trailer_names = [t.strip().lower() for t in (h.get("x-amz-trailer") or "").split(",")
                         if t.strip()]
        for name in CHECKSUM_NAMES:
            if h.get("x-amz-checksum-" + name) is not None or "x-amz-checksum-" + name in trailer_names:
                sums[name] = new_checksum(name)
        sha = hashlib.sha256()
        md5 = hashlib.md5()
        trailers = {}
        if self._body is None:
            if aws_chunked_mode is not None:
                raise S3Error(400, "IncompleteBody", "An aws-chunked body is missing")
            source = iter(())
        elif aws_chunked_mode is not None:
            decoded_len = h.get("x-amz-decoded-content-length")
            if decoded_len is None or not decoded_len.isdigit():
                raise S3Error(411, "MissingContentLength",
                              "You must provide the Content-Length HTTP header.",
                              [("Header", "x-amz-decoded-content-length")])
            extra["decoded_length"] = int(decoded_len)
            scope = "/".join([a.scope_date, a.region, a.service, a.terminator])
            key = signing_key(a.secret, a.scope_date, a.region, a.service)
            source = aws_chunked(self._body, aws_chunked_mode, key, a.amz_date, scope,
                                 a.signature, trailers)
        else:
            source = iter(lambda: self._body.read(PIECE), b"")
        self.send_continue()
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, dir=self.server.spool_dir)
        n = 0
        try:
            try:
                for piece in source:
                    n += len(piece)
                    sha.update(piece)
                    md5.update(piece)
                    for c in sums.values():
                        c.update(piece)
                    spool.write(piece)
            except BodyError as e:
                self._body_read = True
                raise S3Error(400, "IncompleteBody", str(e), close=True)
            except (OSError, socket.timeout):
                self._body_read = True
                raise S3Error(400, "RequestTimeout", FAULT_MESSAGES["RequestTimeout"], close=True)
            except S3Error:
                self._body_read = True
                raise
            self._body_read = True
            self._bytes_in = n
            if "decoded_length" in extra and n != extra["decoded_length"]:
                raise S3Error(400, "IncompleteBody",
                              "You did not provide the number of bytes specified by the "
                              "x-amz-decoded-content-length header")
            got_sha = sha.hexdigest()
            if SHA256_RE.match(a.payload_hash or "") and got_sha != a.payload_hash:
                raise S3Error(400, "XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what "
                              "was computed.",
                              [("ClientComputedContentSHA256", a.payload_hash),
                               ("S3ComputedContentSHA256", got_sha)])
            claimed = h.get("x-amz-content-sha256")
            if a.mode == "query" and claimed and SHA256_RE.match(claimed) and claimed != got_sha:
                raise S3Error(400, "XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what "
                              "was computed.",
                              [("ClientComputedContentSHA256", claimed),
                               ("S3ComputedContentSHA256", got_sha)])
            if want_md5 is not None and md5.digest() != want_md5:
                raise S3Error(400, "BadDigest",
                              "The Content-MD5 you specified did not match what we received.",
                              [("ExpectedDigest", want_md5.hex()),
                               ("CalculatedDigest", base64.b64encode(md5.digest()).decode())])
            for name, c in sums.items():
                hdr = "x-amz-checksum-" + name
                want = h.get(hdr)
                if want is None:
                    want = trailers.get(hdr)
                if want is None:
                    raise S3Error(400, "InvalidRequest",
                                  "The x-amz-trailer %s was announced but not sent." % hdr)
                try:
                    want_raw = base64.b64decode(want.strip(), validate=True)
                except ValueError:
                    want_raw = None
                got = c.digest()
                if want_raw is None or len(want_raw) != len(got):
                    raise S3Error(400, "InvalidRequest",
                                  "Value for %s header is invalid." % hdr)
                if want_raw != got:
                    raise S3Error(400, "BadDigest",
                                  "The %s you specified did not match the calculated checksum."
                                  % CHECKSUM_NAMES[name])
            extra["sha256"] = got_sha
            extra["length"] = n
            extra["aws_chunked"] = aws_chunked_mode is not None
            spool.seek(0)
            return spool, extra
        except BaseException:
            spool.close()
            raise

    # -- upstream -----------------------------------------------------------
    def _close_upstream(self):
        if self._up is not None:
            try:
                self._up.close()
            except OSError:
                pass
            self._up = None

    def _upstream(self):
        fresh = self._up is None or time.monotonic() - self._up_last > UPSTREAM_IDLE
        if fresh:
            self._close_upstream()
            u = self.server.upstream
            self._up = http.client.HTTPConnection(u.hostname, u.port, timeout=UPSTREAM_TIMEOUT)
        return self._up, not fresh

    def upstream_path(self, raw_path):
        """The path-style path for s3rver (virtual-hosted style folded in)."""
        host = (self.headers.get("host") or "").strip()
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        dom = self.server.vhost_domain
        if dom and hostname.lower().endswith("." + dom) and len(hostname) > len(dom) + 1:
            return "/" + hostname[:-(len(dom) + 1)] + raw_path
        return raw_path

    def upstream_request(self, raw_path, raw_query, extra):
        """Path+query and headers for s3rver."""
        a = self._auth
        path = self.upstream_path(raw_path)
        query = raw_query
        if a is not None and a.mode == "query":
            # s3rver knows one access key, S3RVER; it does not check V4 signatures
            parts = []
            for name, value in split_query(raw_query):
                if _unquote_query(name) == "X-Amz-Credential":
                    rest = _unquote_query(value).split("/", 1)
                    value = urllib.parse.quote("S3RVER/" + (rest[1] if len(rest) > 1 else ""),
                                               safe="")
                parts.append(name + "=" + value if value != "" or "=" in name else name)
            query = "&".join(parts)
        headers = []
        drop = set(HOP_BY_HOP)
        if extra.get("aws_chunked"):
            drop |= {"x-amz-decoded-content-length", "x-amz-trailer", "content-encoding",
                     "x-amz-content-sha256"}
        for name, value in self.headers.items():
            lname = name.lower()
            if lname in drop:
                continue
            if lname == "authorization" and a is not None and a.mode == "header":
                value = re.sub(r"Credential=[^/,\s]*/", "Credential=S3RVER/", value, count=1)
            headers.append((name, value))
        if extra.get("aws_chunked"):
            enc = [e.strip() for e in (self.headers.get("content-encoding") or "").split(",")
                   if e.strip() and e.strip().lower() != "aws-chunked"]
            if enc:
                headers.append(("Content-Encoding", ", ".join(enc)))
            headers.append(("x-amz-content-sha256", extra["sha256"]))
        for name, value in self.headers.items():
            if name.lower() == "connection" and "close" in value.lower():
                self.close_connection = True
        return path + ("?" + query if query else ""), headers

    def upstream_simple(self, method, target):
        """One request without a body to s3rver: (status, body)."""
        for attempt in (1, 2):
            conn, reused = self._upstream()
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", self.server.upstream_netloc)
                conn.endheaders()
                r = conn.getresponse()
                body = r.read()
                if r.will_close:
                    self._close_upstream()
                self._up_last = time.monotonic()
                return r.status, body
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.BadStatusLine) as e:
                self._close_upstream()
                if attempt == 1 and reused:
                    continue
                raise S3Error(503, "ServiceUnavailable", "s3proxy: s3rver did not answer (%s)"
                              % e.__class__.__name__)
            except OSError as e:
                self._close_upstream()
                raise S3Error(503, "ServiceUnavailable", "s3proxy: cannot reach s3rver (%s)" % e)

    def multi_delete(self, bucket_path, spool, after_bytes):
        """DeleteObjects, done as one DELETE per key: s3rver's own deletes the keys
        concurrently and trips over the folders it removes (500 InternalError), and
        it ignores Quiet."""
        h = self.headers
        if h.get("content-md5") is None and not any(
                k.lower().startswith("x-amz-checksum-") for k in h.keys()) and \
                "x-amz-checksum-" not in (h.get("x-amz-trailer") or "").lower():
            raise S3Error(400, "InvalidRequest",
                          "Missing required header for this request: Content-Md5")
        bad = S3Error(400, "MalformedXML",
                      "The XML you provided was not well-formed or did not validate against "
                      "our published schema")
        data = spool.read() if spool is not None else b""
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            raise bad

        def local(tag):
            return tag.rsplit("}", 1)[-1]
        if local(root.tag) != "Delete":
            raise bad
        quiet = False
        keys = []
        for child in root:
            t = local(child.tag)
            if t == "Quiet":
                quiet = (child.text or "").strip().lower() == "true"
            elif t == "Object":
                key = vid = None
                for c in child:
                    if local(c.tag) == "Key":
                        key = c.text or ""
                    elif local(c.tag) == "VersionId":
                        vid = c.text or ""
                if key is None:
                    raise bad
                keys.append((key, vid))
        if not keys or len(keys) > 1000:
            raise bad
        status, body = self.upstream_simple("GET", bucket_path + "?max-keys=0")
        if status == 404:
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist",
                          [("BucketName", bucket_path[1:])])
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n'
               '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
        for key, vid in keys:
            target = bucket_path + "/" + urllib.parse.quote(key, safe="/~", errors="surrogateescape")
            status, body = self.upstream_simple("DELETE", target)
            vtag = "<VersionId>%s</VersionId>" % xml_escape(vid) if vid is not None else ""
            if status in (200, 204):
                if not quiet:
                    out.append("<Deleted><Key>%s</Key>%s</Deleted>" % (xml_escape(key), vtag))
            else:
                m = re.search(rb"<Code>([^<]{1,100})</Code>", body)
                code = m.group(1).decode("latin-1") if m else "InternalError"
                out.append("<Error><Key>%s</Key>%s<Code>%s</Code><Message>s3rver answered %d"
                           "</Message></Error>" % (xml_escape(key), vtag, xml_escape(code), status))
        out.append("</DeleteResult>")
        self.emit(200, [("Content-Type", "application/xml")], "".join(out).encode("utf-8"),
                  after_bytes)

    def emit(self, status, headers, body, after_bytes):
        """An answer made here, cut after after_bytes when asked."""
        self._status = status
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        self.send_header("x-amz-request-id", request_id())
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if after_bytes is not None:
            self.wfile.write(body[:after_bytes])
            self._bytes_out += min(len(body), after_bytes)
            self.drop()
            raise Dropped()
        self.wfile.write(body)
        self._bytes_out += len(body)

    def forward(self, raw_path, raw_query, spool, extra, after_bytes):
        target, headers = self.upstream_request(raw_path, raw_query, extra)
        length = extra.get("length", 0)
        with_length = spool is not None and (length > 0 or self._body is not None or
                                             self.command in ("PUT", "POST"))
        for attempt in (1, 2):
            conn, reused = self._upstream()
            try:
                conn.putrequest(self.command, target, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", self.server.upstream_netloc)
                for name, value in headers:
                    conn.putheader(name, value)
                if with_length:
                    conn.putheader("Content-Length", str(length))
                conn.endheaders()
                if spool is not None and length:
                    spool.seek(0)
                    while True:
                        data = spool.read(PIECE)
                        if not data:
                            break
                        conn.send(data)
                resp = conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.BadStatusLine) as e:
                self._close_upstream()
                if attempt == 1 and reused:
                    continue            # s3rver closed an idle connection: once more, fresh
                return self.send_error_xml(S3Error(
                    503, "ServiceUnavailable", "s3proxy: s3rver did not answer (%s)"
                    % e.__class__.__name__))
            except OSError as e:
                self._close_upstream()
                return self.send_error_xml(S3Error(
                    503, "ServiceUnavailable", "s3proxy: cannot reach s3rver (%s)" % e))
        self._up_last = time.monotonic()
        try:
            self.relay(resp, after_bytes)
        except http.client.HTTPException as e:
            # s3rver's answer broke off: so does ours
            self._code = "upstream-" + e.__class__.__name__
            self.drop()
            raise Dropped()
        finally:
            if resp.will_close or not resp.isclosed():
                self._close_upstream()
            self._up_last = time.monotonic()

    def relay(self, resp, after_bytes):
        status = resp.status
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        hdrs = [(k, v) for k, v in resp.getheaders()
                if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                     "content-length")]
        body = None
        length = resp.length
        q = self.raw_target().partition("?")[2]
        wants_url = any(_unquote_query(n) == "encoding-type" and _unquote_query(v) == "url"
                        for n, v in split_query(q))
        if not no_body and self.command == "GET" and status == 200 and wants_url and \
                (length is None or length < (16 << 20)):
            body = resp.read()
            if body.lstrip()[:300].find(b"<ListBucketResult") >= 0:
                body = url_encode_listing(body)
            length = len(body)
        self._status = status
        if status >= 400:
            self._code = "upstream"
            if not no_body and body is None and (length is None or length < (64 << 10)):
                body = resp.read()
                length = len(body)
                m = re.search(rb"<Code>([^<]{1,100})</Code>", body)
                if m:
                    self._code = m.group(1).decode("latin-1")
        if no_body:
            resp.read()
        self.send_response_only(status, resp.reason)
        for k, v in hdrs:
            self.send_header(k, v)
        chunked = False
        if no_body:
            cl = resp.getheader("content-length")
            if cl is not None:
                self.send_header("Content-Length", cl)
        elif length is not None:
            self.send_header("Content-Length", str(length))
        else:
            chunked = True
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if no_body:
            self.wfile.flush()
            if after_bytes is not None:
                self.drop()
                raise Dropped()
            return
        budget = after_bytes

        def out(data):
            nonlocal budget
            if budget is not None:
                if len(data) >= budget:
                    data = data[:budget]
                    if data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                        self._bytes_out += len(data)
                    self.drop()
                    raise Dropped()
                budget -= len(data)
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            self._bytes_out += len(data)

        if body is not None:
            for i in range(0, len(body), PIECE):
                out(body[i:i + PIECE])
        else:
            while True:
                data = resp.read(PIECE)
                if not data:
                    break
                out(data)
        if budget is not None:
            # the whole answer fit in after_bytes: drop all the same
            self.drop()
            raise Dropped()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, port, state, upstream, vhost_domain, spool_dir):
        super().__init__(("127.0.0.1", port), Handler)
        self.state = state
        self.upstream_url = upstream
        self.upstream = urllib.parse.urlsplit(upstream)
        self.upstream_netloc = self.upstream.netloc
        self.vhost_domain = vhost_domain.lower().strip(".") if vhost_domain else ""
        self.spool_dir = spool_dir

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, socket.timeout)):
            return
        log("internal error: %s" % exc.__class__.__name__)
        import traceback
        traceback.print_exc(file=sys.stderr)


def write_ready(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ready.", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description="S3 SigV4 verification in front of s3rver.")
    ap.add_argument("--upstream", required=True, help="s3rver's URL, http://127.0.0.1:PORT")
    ap.add_argument("--keys", required=True, help="JSON: access key id -> secret")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0: any free one)")
    ap.add_argument("--ready-file", help="where to write the base URL once listening")
    ap.add_argument("--region", default="us-east-1",
                    help="the region signatures must be scoped to ('*': any)")
    ap.add_argument("--vhost-domain", default="localhost",
                    help="Host: BUCKET.<this>[:port] is virtual-hosted style ('' to disable)")
    ap.add_argument("--allow-anonymous", action="store_true",
                    help="forward unsigned requests instead of answering AccessDenied")
    ap.add_argument("--spool-dir", default=None, help="where bodies over 8 MiB are spooled")
    args = ap.parse_args(argv)
    u = urllib.parse.urlsplit(args.upstream)
    if u.scheme != "http" or not u.hostname or not u.port:
        print("s3proxy: --upstream must be http://HOST:PORT", file=sys.stderr)
        return 2
    try:
        with open(args.keys, "rb") as f:
            keys = load_keys(json.load(f))
    except (OSError, ValueError) as e:
        print("s3proxy: keys: %s" % e, file=sys.stderr)
        return 2
    state = State(keys, args.region, args.allow_anonymous)
    try:
        server = Server(args.port, state, args.upstream.rstrip("/"), args.vhost_domain,
                        args.spool_dir)
    except OSError as e:
        print("s3proxy: cannot listen on 127.0.0.1:%d: %s" % (args.port, e), file=sys.stderr)
        return 1
    url = "http://127.0.0.1:%d" % server.server_address[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    if args.ready_file:
        write_ready(args.ready_file, url)
    print(url, flush=True)
    log("listening on %s, upstream %s" % (url, args.upstream))
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
