#!/usr/bin/python3
"""fake_aws: AWS's control plane on loopback, for gantry's tests.

    fake_aws.py --config CONFIG.json [--port N] [--ready-file PATH]

Serves on 127.0.0.1 only. On start it prints http://127.0.0.1:PORT on stdout
and writes it (no newline) to the ready file, atomically (temp + rename);
it serves until SIGTERM or SIGINT. Every request is logged to stderr in one
line (method, path without its query, action, status); never a secret, a
session token, a web identity token or a signature.

What it answers (see README.md beside this file):
  STS, query protocol:  AssumeRoleWithWebIdentity (unsigned), GetCallerIdentity
                        and AssumeRole (SigV4, header or presigned)
  EC2 instance metadata v2 under /latest/ (token required)
  ECS container credentials at /_ecs/creds and /v2/credentials/<id>
  admin: POST /_fake/config, POST /_fake/faults, GET /_fake/calls,
         POST /_fake/reset, GET /_fake/health

Signatures are verified independently of any client under test: the request
is rebuilt from what arrived and botocore's SigV4 canonicalisation computes
the expected signature with the secret looked up by the access key id.

Written for Debian's /usr/bin/python3 with python3-botocore, python3-jwt and
python3-cryptography.
"""

import argparse
import base64
import calendar
import hashlib
import hmac
import http.client
import http.server
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

import jwt

MAX_BODY = 1 << 20
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_VERSION = "2011-06-15"
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FMT = "%Y%m%dT%H%M%SZ"
ISO_FMT = "%Y-%m-%dT%H:%M:%SZ"
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
IDP_KEY_MESSAGE = ("Couldn't retrieve verification key from your identity "
                   "provider,  please reference AssumeRoleWithWebIdentity "
                   "documentation for requirements")
SIGNATURE_MISMATCH = ("The request signature we calculated does not match "
                      "the signature you provided. Check your AWS Secret "
                      "Access Key and signing method. Consult the service "
                      "documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]*$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]*$")
ROLE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
FAULT_MESSAGES = {
    "Throttling": "Rate exceeded",
    "ThrottlingException": "Rate exceeded",
    "RequestLimitExceeded": "Request limit exceeded.",
    "InternalFailure": ("The request processing has failed because of an "
                        "unknown error, exception or failure."),
    "ServiceUnavailable": ("The request has failed due to a temporary failure "
                           "of the server."),
    "IDPCommunicationError": IDP_KEY_MESSAGE,
}


def now():
    return time.time()


def iso(t):
    return time.strftime(ISO_FMT, time.gmtime(int(t)))


def amz(t):
    return time.strftime(AMZ_DATE_FMT, time.gmtime(int(t)))


def log(msg):
    try:
        sys.stderr.write("fake_aws: %s\n" % msg)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class ApiError(Exception):
    """An AWS error answer: code, message and HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(problems):
    """AWS's aggregated ValidationError for model constraints."""
    n = len(problems)
    head = "%d validation error%s detected: " % (n, "" if n == 1 else "s")
    return ApiError("ValidationError", head + "; ".join(problems))


# ---------------------------------------------------------------- config

CONDITION_OPS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike", "Null",
}
TOP_KEYS = {
    "account", "users", "oidc_providers", "roles", "credential_lifetime",
    "imds_role", "ecs_role", "ecs_auth_token", "ecs_credentials_id",
    "instance_id", "ecs_task_id", "region", "clock_skew_seconds",
    "token_skew_seconds", "idp_error_code",
}


class ConfigError(ValueError):
    pass


def _req(obj, key, kind, where):
    if key not in obj:
        raise ConfigError("%s: missing %r" % (where, key))
    val = obj[key]
    if not isinstance(val, kind) or isinstance(val, bool):
        raise ConfigError("%s: %r has the wrong type" % (where, key))
    return val


def _strlist(val, where):
    if isinstance(val, str):
        return [val]
    if isinstance(val, list) and val and all(isinstance(v, str) for v in val):
        return list(val)
    raise ConfigError("%s: expected a string or a non-empty list of strings"
                      % where)


def strip_scheme(url):
    for p in ("https://", "http://"):
        if url.startswith(p):
            return url[len(p):]
    return url


def _stable_id(prefix, text):
    digest = base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()
    return prefix + digest[:17]


def _conditions(raw, where):
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("%s: conditions must be an object" % where)
    out = {}
    for op, kv in raw.items():
        base = op.split(":", 1)[1] if op.startswith(("ForAnyValue:", "ForAllValues:")) else op
        if base.endswith("IfExists"):
            base = base[:-len("IfExists")]
        if base not in CONDITION_OPS:
            raise ConfigError("%s: unsupported condition operator %r" % (where, op))
        if not isinstance(kv, dict) or not kv:
            raise ConfigError("%s: %s needs an object of key: value" % (where, op))
        out[op] = {k: _strlist(v, "%s %s %s" % (where, op, k)) for k, v in kv.items()}
    return out


def load_config(raw):
    """Checks and normalises a config object; ConfigError if it is wrong."""
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    for k in raw:
        if k not in TOP_KEYS and not k.startswith("_"):
            raise ConfigError("unknown config key %r" % k)
    account = _req(raw, "account", str, "config")
    if not re.fullmatch(r"\d{12}", account):
        raise ConfigError("account must be 12 digits")
    cfg = {"account": account, "users": {}, "providers": {}, "roles": {}}
    for i, u in enumerate(raw.get("users", [])):
        where = "users[%d]" % i
        if not isinstance(u, dict):
            raise ConfigError(where + ": must be an object")
        akid = _req(u, "access_key_id", str, where)
        user = {
            "secret": _req(u, "secret_access_key", str, where),
            "arn": _req(u, "arn", str, where),
        }
        m = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):(user|root)(/.*)?", user["arn"])
        if not m:
            raise ConfigError(where + ": arn must be an IAM user ARN")
        user["account"] = m.group(1)
        user["user_id"] = u.get("user_id") or (
            user["account"] if m.group(2) == "root" else _stable_id("AIDA", user["arn"]))
        cfg["users"][akid] = user
    for i, p in enumerate(raw.get("oidc_providers", [])):
        where = "oidc_providers[%d]" % i
        if not isinstance(p, dict):
            raise ConfigError(where + ": must be an object")
        url = _req(p, "url", str, where)
        if not url.startswith(("http://", "https://")):
            raise ConfigError(where + ": url must start with http:// or https://")
        pid = strip_scheme(url)
        cfg["providers"][pid] = {
            "url": url, "id": pid,
            "client_ids": _strlist(p.get("client_ids", []), where + ".client_ids"),
            "arn": "arn:aws:iam::%s:oidc-provider/%s" % (account, pid),
        }
    for i, r in enumerate(raw.get("roles", [])):
        where = "roles[%d]" % i
        if not isinstance(r, dict):
            raise ConfigError(where + ": must be an object")
        arn = _req(r, "arn", str, where)
        m = ROLE_ARN_RE.match(arn)
        if not m:
            raise ConfigError(where + ": arn is not an IAM role ARN")
        maxd = r.get("max_session_duration", 3600)
        if not isinstance(maxd, int) or isinstance(maxd, bool) or not 3600 <= maxd <= 43200:
            raise ConfigError(where + ": max_session_duration must be 3600..43200")
        trust = []
        for j, s in enumerate(r.get("trust", [])):
            sw = "%s.trust[%d]" % (where, j)
            if not isinstance(s, dict):
                raise ConfigError(sw + ": must be an object")
            stmt = {
                "effect": s.get("effect", "Allow"),
                "actions": _strlist(_req(s, "action", (str, list), sw), sw + ".action"),
                "federated": None, "aws": None,
                "conditions": _conditions(s.get("conditions"), sw),
            }
            if stmt["effect"] not in ("Allow", "Deny"):
                raise ConfigError(sw + ": effect must be Allow or Deny")
            if "federated" in s:
                stmt["federated"] = [
                    strip_scheme(re.sub(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/", "", f))
                    for f in _strlist(s["federated"], sw + ".federated")]
            if "aws" in s:
                stmt["aws"] = _strlist(s["aws"], sw + ".aws")
            if stmt["federated"] is None and stmt["aws"] is None:
                raise ConfigError(sw + ": needs a 'federated' or an 'aws' principal")
            trust.append(stmt)
        cfg["roles"][arn] = {
            "arn": arn, "account": m.group(1), "name": m.group(3),
            "max": maxd, "trust": trust,
            "role_id": r.get("role_id") or _stable_id("AROA", arn),
        }
    lifetime = raw.get("credential_lifetime")
    if lifetime is not None and (not isinstance(lifetime, int)
                                 or isinstance(lifetime, bool) or lifetime < 1):
        raise ConfigError("credential_lifetime must be null or a positive integer")
    cfg["credential_lifetime"] = lifetime
    for key in ("imds_role", "ecs_role"):
        val = raw.get(key)
        if val is not None and (not isinstance(val, str) or not ROLE_ARN_RE.match(val)):
            raise ConfigError("%s must be a role ARN" % key)
        cfg[key] = val
    for key, default in (("ecs_auth_token", None), ("ecs_credentials_id", None),
                         ("instance_id", "i-0123456789abcdef0"),
                         ("ecs_task_id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
                         ("region", "us-east-1"),
                         ("idp_error_code", "IDPCommunicationError")):
        val = raw.get(key, default)
        if val is not None and not isinstance(val, str):
            raise ConfigError("%s must be a string" % key)
        cfg[key] = val
    if cfg["idp_error_code"] not in ("IDPCommunicationError", "InvalidIdentityToken"):
        raise ConfigError("idp_error_code must be IDPCommunicationError or InvalidIdentityToken")
    for key, default in (("clock_skew_seconds", 900), ("token_skew_seconds", 300)):
        val = raw.get(key, default)
        if not isinstance(val, int) or isinstance(val, bool) or val < 0:
            raise ConfigError("%s must be a non-negative integer" % key)
        cfg[key] = val
    return cfg


# ----------------------------------------------------------------- state

class Session:
    """Temporary credentials the fake issued; kept for signed calls."""

    def __init__(self, cfg, role, session_name, duration, chained=False):
        self.access_key_id = "ASIA" + "".join(
            secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        # Like AWS's: base64 text, so '+', '/' and '=' appear.
        self.secret = base64.b64encode(os.urandom(30)).decode()
        self.token = "FQoGZXIvYXdzE" + base64.b64encode(os.urandom(294)).decode()
        self.issued = now()
        lifetime = cfg["credential_lifetime"] or duration
        self.expiration = int(self.issued) + lifetime
        self.role_arn = role["arn"]
        self.account = role["account"]
        self.session_name = session_name
        self.arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (
            role["account"], role["name"], session_name)
        self.user_id = "%s:%s" % (role["role_id"], session_name)
        self.chained = chained


class State:
    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.config = cfg
        self.sessions = {}          # access key id -> Session
        self.faults = []            # dicts, see add_fault
        self.calls = []
        self.imds_tokens = {}       # token -> expiry
        self.cached = {}            # ("imds"|"ecs", role arn) -> Session

    def remember(self, sess):
        with self.lock:
            self.sessions[sess.access_key_id] = sess
        return sess

    def record(self, entry):
        with self.lock:
            if len(self.calls) < 100000:
                self.calls.append(entry)

    def take_fault(self, service, action):
        with self.lock:
            for f in self.faults:
                if f["count"] <= 0:
                    continue
                if f["action"] == action or (f["action"] == "*" and service in SERVICES):
                    if f.get("service") and f["service"] != service:
                        continue
                    f["count"] -= 1
                    fault = dict(f)
                    self.faults = [x for x in self.faults if x["count"] > 0]
                    return fault
        return None


def role_for(cfg, arn):
    role = cfg["roles"].get(arn)
    if role:
        return role
    m = ROLE_ARN_RE.match(arn)
    return {"arn": arn, "account": m.group(1), "name": m.group(3), "max": 3600,
            "trust": [], "role_id": _stable_id("AROA", arn)}


# ------------------------------------------------------------ conditions

def _glob(pattern, text):
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text, re.S) is not None


def _match(base, have, want):
    if base.startswith("StringLike") or base.startswith("StringNotLike"):
        return _glob(want, have)
    if "IgnoreCase" in base:
        return have.lower() == want.lower()
    return have == want


def condition_holds(op, key, wants, ctx):
    """One IAM condition: op {key: wants} against the context (case-insensitive keys)."""
    haves = ctx.get(key.lower())
    qualifier = None
    base = op
    if op.startswith(("ForAnyValue:", "ForAllValues:")):
        qualifier, base = op.split(":", 1)
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[:-len("IfExists")]
    if base == "Null":
        return (haves is None) == (wants[0].lower() == "true")
    if haves is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        return "Not" in base
    if isinstance(haves, str):
        haves = [haves]
    negated = "Not" in base
    positive = base.replace("Not", "")

    def one(h):
        hit = any(_match(positive, h, w) for w in wants)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(h) for h in haves)
    if negated and qualifier is None:
        return all(one(h) for h in haves)
    return any(one(h) for h in haves)


def conditions_hold(conds, ctx):
    return all(condition_holds(op, key, wants, ctx)
               for op, kv in conds.items() for key, wants in kv.items())


def trust_allows(role, action, principal_ok, ctx):
    """IAM evaluation of a trust policy: an explicit Deny wins, else an Allow."""
    allowed = False
    for stmt in role["trust"]:
        if not any(_glob(a.lower(), action.lower()) for a in stmt["actions"]):
            continue
        if not principal_ok(stmt):
            continue
        if not conditions_hold(stmt["conditions"], ctx):
            continue
        if stmt["effect"] == "Deny":
            return False
        allowed = True
    return allowed


# ----------------------------------------------------------------- SigV4

class SigInfo:
    """What a request's SigV4 signature claims, from the header or the query."""
    mode = None
    access_key_id = None
    scope_date = region = service = terminator = None
    signed_headers = ()
    signature = None
    amz_date = None
    token = None
    expires = None
    error = None


def _split_query(raw):
    pairs = []
    if raw:
        for part in raw.split("&"):
            if part == "":
                continue
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def parse_sigv4(req):
    """SigInfo for a signed request, None for an unsigned one."""
    authz = req.header("authorization")
    qnames = {urllib.parse.unquote(n): urllib.parse.unquote(v)
              for n, v in _split_query(req.raw_query)}
    presigned = "X-Amz-Algorithm" in qnames or "X-Amz-Signature" in qnames
    if authz is None and not presigned:
        return None
    s = SigInfo()
    if authz is not None and presigned:
        s.mode = "header"
        s.error = ApiError("IncompleteSignature",
                           "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                           "query parameter or the Authorization header should be "
                           "specified", 400)
        return s
    if authz is not None:
        s.mode = "header"
        scheme, _, rest = authz.strip().partition(" ")
        if scheme != SIGV4_ALGORITHM:
            s.error = ApiError("IncompleteSignature",
                               "Unsupported AWS 'algorithm': '%s'" % scheme[:40], 400)
            return s
        fields = {}
        for part in rest.split(","):
            part = part.strip()
            if not part:
                continue
            k, eq, v = part.partition("=")
            if not eq:
                s.error = ApiError("IncompleteSignature",
                                   "A component of the Authorization header is not a "
                                   "valid key=value pair (missing equal-sign)", 400)
                return s
            fields[k.strip()] = v.strip()
        missing = []
        for k in ("Credential", "Signature", "SignedHeaders"):
            if not fields.get(k):
                missing.append("Authorization header requires '%s' parameter." % k)
        s.amz_date = req.header("x-amz-date")
        if s.amz_date is None:
            missing.append("Authorization header requires existence of either a "
                           "'X-Amz-Date' or a 'Date' header.")
        if missing:
            s.error = ApiError("IncompleteSignature", " ".join(missing), 400)
            return s
        credential = fields["Credential"]
        s.signed_headers = fields["SignedHeaders"].split(";")
        s.signature = fields["Signature"]
        s.token = req.header("x-amz-security-token")
    else:
        s.mode = "query"
        missing = [k for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                               "X-Amz-SignedHeaders", "X-Amz-Signature") if not qnames.get(k)]
        if missing:
            s.error = ApiError("IncompleteSignature",
                               "AWS query-string parameters must include %s."
                               % ", ".join("'%s'" % m for m in missing), 400)
            return s
        if qnames["X-Amz-Algorithm"] != SIGV4_ALGORITHM:
            s.error = ApiError("IncompleteSignature",
                               "Unsupported AWS 'algorithm': '%s'"
                               % qnames["X-Amz-Algorithm"][:40], 400)
            return s
        credential = qnames["X-Amz-Credential"]
        s.signed_headers = qnames["X-Amz-SignedHeaders"].split(";")
        s.signature = qnames["X-Amz-Signature"]
        s.amz_date = qnames["X-Amz-Date"]
        s.token = qnames.get("X-Amz-Security-Token")
        if "X-Amz-Expires" in qnames:
            try:
                s.expires = int(qnames["X-Amz-Expires"])
            except ValueError:
                s.expires = -1
    parts = credential.split("/")
    if len(parts) != 5:
        s.error = ApiError("IncompleteSignature",
                           "Credential must have exactly 5 slash-delimited elements, "
                           "e.g. keyid/date/region/service/term, got '%s'"
                           % credential[:200], 400)
        return s
    s.access_key_id, s.scope_date, s.region, s.service, s.terminator = parts
    return s


class _Verifier(SigV4Auth):
    """botocore's SigV4 canonicalisation over exactly the headers the client signed."""

    def __init__(self, secret, service, region, signed, header_values):
        super().__init__(Credentials("unused", secret), service, region)
        self._signed = signed
        self._values = header_values

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            for value in self._values.get(name, ()):
                out[name] = value
        return out


def _aws_quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(raw_query, drop=()):
    """Decoded and encoded again the AWS way, sorted by name then value."""
    pairs = []
    for name, value in _split_query(raw_query):
        dname = urllib.parse.unquote(name)
        if dname in drop:
            continue
        pairs.append((_aws_quote(dname), _aws_quote(urllib.parse.unquote(value))))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def expected_signature(req, sig, secret):
    """The signature AWS would compute for this request (hex)."""
    values = {}
    for name in sig.signed_headers:
        got = req.headers.get_all(name)
        if got is None:
            return None
        values[name] = got
    query = canonical_query(req.raw_query,
                            drop=("X-Amz-Signature",) if sig.mode == "query" else ())
    url = "http://%s%s%s" % (req.header("host") or "localhost", req.path,
                            "?" + query if query else "")
    areq = AWSRequest(method=req.method, url=url, data=req.body)
    areq.context["timestamp"] = sig.amz_date
    v = _Verifier(secret, sig.service, sig.region, sig.signed_headers, values)
    headers = v.headers_to_sign(areq)
    canonical = "\n".join([
        req.method.upper(),
        v._normalize_url_path(urllib.parse.urlsplit(url).path),
        v.canonical_query_string(areq),
        v.canonical_headers(headers) + "\n",
        v.signed_headers(headers),
        # The payload's real hash, whatever an x-amz-content-sha256 header claims.
        hashlib.sha256(req.body).hexdigest(),
    ])
    return v.signature(v.string_to_sign(areq, canonical), areq)


def authenticate(state, cfg, req, sig, service):
    """The caller of a signed request, or ApiError as AWS would answer."""
    if sig.error:
        raise sig.error
    user = cfg["users"].get(sig.access_key_id)
    sess = None
    if user is None:
        with state.lock:
            sess = state.sessions.get(sig.access_key_id)
        if sess is None:
            raise ApiError("InvalidClientTokenId", INVALID_TOKEN, 403)
        if sig.token is None or not hmac.compare_digest(sig.token.encode(), sess.token.encode()):
            raise ApiError("InvalidClientTokenId", INVALID_TOKEN, 403)
        if now() >= sess.expiration:
            raise ApiError("ExpiredToken", EXPIRED_TOKEN, 403)
        secret = sess.secret
    else:
        if sig.token is not None:
            raise ApiError("InvalidClientTokenId", INVALID_TOKEN, 403)
        secret = user["secret"]
    if sig.terminator != "aws4_request":
        raise ApiError("SignatureDoesNotMatch",
                       "Credential should be scoped with a valid terminator: "
                       "'aws4_request', not '%s'." % sig.terminator[:40], 403)
    if sig.service != service:
        raise ApiError("SignatureDoesNotMatch",
                       "Credential should be scoped to correct service: '%s'. " % service, 403)
    if not REGION_RE.match(sig.region):
        raise ApiError("SignatureDoesNotMatch",
                       "Credential should be scoped to a valid region. ", 403)
    try:
        t_req = calendar.timegm(time.strptime(sig.amz_date, AMZ_DATE_FMT))
    except ValueError:
        raise ApiError("IncompleteSignature",
                       "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                       "http://en.wikipedia.org/wiki/ISO_8601" % sig.amz_date[:40], 400)
    if sig.scope_date != sig.amz_date[:8]:
        raise ApiError("SignatureDoesNotMatch",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       "version of date from HTTP: '%s' != '%s', from '%s'."
                       % (sig.scope_date[:20], sig.amz_date[:8], sig.amz_date), 403)
    if "host" not in sig.signed_headers:
        raise ApiError("SignatureDoesNotMatch",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                       "Authorization.", 403)
    t = now()
    skew = cfg["clock_skew_seconds"]
    if t_req < t - skew:
        raise ApiError("SignatureDoesNotMatch",
                       "Signature expired: %s is now earlier than %s (%s - %d min.)"
                       % (sig.amz_date, amz(t - skew), amz(t), skew // 60), 403)
    if t_req > t + skew:
        raise ApiError("SignatureDoesNotMatch",
                       "Signature not yet current: %s is still later than %s (%s + %d min.)"
                       % (sig.amz_date, amz(t + skew), amz(t), skew // 60), 403)
    if sig.mode == "query" and sig.expires is not None:
        if not 1 <= sig.expires <= 604800:
            raise ApiError("IncompleteSignature",
                           "X-Amz-Expires must be between 1 and 604800 seconds", 400)
        if t > t_req + sig.expires:
            raise ApiError("SignatureDoesNotMatch",
                           "Signature expired: %s is now earlier than %s (%s - %d sec.)"
                           % (sig.amz_date, amz(t - sig.expires), amz(t), sig.expires), 403)
    want = expected_signature(req, sig, secret)
    if want is None or not hmac.compare_digest(want.encode(), sig.signature.encode()):
        raise ApiError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)
    if sess is not None:
        return {"kind": "role", "arn": sess.arn, "user_id": sess.user_id,
                "account": sess.account, "role_arn": sess.role_arn,
                "session": sess, "access_key_id": sig.access_key_id}
    return {"kind": "user", "arn": user["arn"], "user_id": user["user_id"],
            "account": user["account"], "access_key_id": sig.access_key_id}


# ------------------------------------------------------------- protocols

class QueryProtocol:
    """awsquery: form-encoded Action=...&Version=..., XML answers."""
    name = "query"

    def __init__(self, xmlns, version):
        self.xmlns = xmlns
        self.version = version

    def params(self, req):
        if req.params is None:
            params = {}
            for n, v in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True):
                params.setdefault(n, v)
            ctype = (req.header("content-type") or "").split(";")[0].strip().lower()
            if req.method == "POST" and ctype == "application/x-www-form-urlencoded":
                try:
                    text = req.body.decode("utf-8")
                except UnicodeDecodeError:
                    text = ""
                for n, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
                    params.setdefault(n, v)
            req.params = params
        return req.params

    def action(self, req):
        return self.params(req).get("Action")

    def check_action(self, req, action, known):
        if not action:
            raise ApiError("MissingAction", "Missing Action", 400)
        version = self.params(req).get("Version")
        if version != self.version or not known:
            raise ApiError("InvalidAction", "Could not find operation %s for version %s"
                           % (action, version or "NO_VERSION_SPECIFIED"), 400)

    @staticmethod
    def _xml(items, indent):
        out = []
        for name, value in items:
            if value is None:
                continue
            if isinstance(value, list):
                out.append("%s<%s>\n%s%s</%s>\n" % (indent, name, QueryProtocol._xml(value, indent + "  "),
                                                    indent, name))
            else:
                out.append("%s<%s>%s</%s>\n" % (indent, name, xml_escape(str(value)), name))
        return "".join(out)

    def result(self, action, items, request_id):
        body = ('<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n'
                '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n'
                '</%sResponse>\n' % (action, self.xmlns, action, self._xml(items, "    "),
                                     action, request_id, action))
        return 200, "text/xml", body.encode()

    def error(self, err, request_id):
        kind = "Receiver" if err.status >= 500 else "Sender"
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                % (self.xmlns, kind, xml_escape(err.code), xml_escape(err.message), request_id))
        return err.status, "text/xml", body.encode()


class Json11Protocol:
    """awsJson1_1 (ECR, ECS): X-Amz-Target: Prefix.Action, JSON in and out.

    No operation uses it yet; it is here so that ECR and ECS only need
    handlers and a SERVICES entry. The shared authentication errors take
    the names JSON services give them."""
    name = "json"
    content_type = "application/x-amz-json-1.1"
    RENAMES = {
        "InvalidClientTokenId": ("UnrecognizedClientException", 400),
        "SignatureDoesNotMatch": ("InvalidSignatureException", 400),
        "ExpiredToken": ("ExpiredTokenException", 400),
        "IncompleteSignature": ("IncompleteSignatureException", 400),
        "MissingAuthenticationToken": ("MissingAuthenticationTokenException", 400),
        "Throttling": ("ThrottlingException", 400),
    }

    def __init__(self, target_prefix):
        self.target_prefix = target_prefix

    def params(self, req):
        if req.params is None:
            try:
                req.params = json.loads(req.body or b"{}")
            except ValueError:
                raise ApiError("SerializationException", "Start of structure or map found where not expected.")
            if not isinstance(req.params, dict):
                raise ApiError("SerializationException", "Start of structure or map found where not expected.")
        return req.params

    def action(self, req):
        target = req.header("x-amz-target") or ""
        prefix, _, action = target.partition(".")
        return action if prefix == self.target_prefix else None

    def check_action(self, req, action, known):
        if not action or not known:
            raise ApiError("UnknownOperationException", "", 400)

    def result(self, action, obj, request_id):
        return 200, self.content_type, json.dumps(obj).encode()

    def error(self, err, request_id):
        code, status = self.RENAMES.get(err.code, (err.code, err.status))
        return status, self.content_type, json.dumps(
            {"__type": code, "message": err.message}).encode()


# ------------------------------------------------------------ web identity

def _b64url_json(part):
    pad = "=" * (-len(part) % 4)
    data = base64.urlsafe_b64decode(part + pad)
    obj = json.loads(data)
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    return obj


def _loopback(url):
    try:
        u = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if u.scheme not in ("http", "https") or not u.hostname:
        return False
    if u.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(u.hostname).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch_json(url, what):
    """GET a JSON document from a loopback URL; ValueError on any failure."""
    if not _loopback(url):
        raise ValueError("%s is not a loopback URL" % what)
    try:
        with _OPENER.open(urllib.request.Request(url, headers={"Accept": "application/json"}),
                          timeout=5) as resp:
            if resp.status != 200:
                raise ValueError("%s answered %d" % (what, resp.status))
            data = resp.read(MAX_BODY + 1)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise ValueError("%s: %s" % (what, e))
    if len(data) > MAX_BODY:
        raise ValueError("%s is too large" % what)
    try:
        obj = json.loads(data)
    except ValueError:
        raise ValueError("%s is not JSON" % what)
    if not isinstance(obj, dict):
        raise ValueError("%s is not a JSON object" % what)
    return obj


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def verify_web_identity(cfg, token):
    """Checks a web identity token as STS does; (claims, provider, audience)."""
    bad = lambda msg: ApiError("InvalidIdentityToken", msg, 400)
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError
        header = _b64url_json(parts[0])
        claims = _b64url_json(parts[1])
    except ValueError:
        raise bad("The ID Token provided is not a valid JWT. (You may see this "
                  "error if you sent an Access Token)")
    for claim in ("iss", "sub", "aud", "exp", "iat"):
        if claim not in claims:
            raise bad("Missing a required claim: %s" % claim)
    iss = claims["iss"]
    if not isinstance(iss, str):
        raise bad("Invalid issuer")
    provider = cfg["providers"].get(strip_scheme(iss)) if iss.startswith(("https://", "http://")) else None
    if provider is None:
        raise bad("No OpenIDConnect provider found in your account for %s" % iss[:500])
    alg = header.get("alg")
    if alg not in JWT_ALGORITHMS:
        raise bad("Unsupported token signing algorithm: %s" % str(alg)[:20])
    idp_error = ApiError(cfg["idp_error_code"], IDP_KEY_MESSAGE, 400)
    try:
        discovery = fetch_json(iss.rstrip("/") + "/.well-known/openid-configuration",
                               "discovery document")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError("no jwks_uri")
        jwks = fetch_json(jwks_uri, "JWKS")
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise ValueError("JWKS has no keys")
    except ValueError as e:
        log("web identity: %s" % e)
        raise idp_error
    kid = header.get("kid")
    family = "RSA" if alg.startswith("RS") else "EC"
    candidates = [k for k in keys if isinstance(k, dict) and k.get("kty") == family
                  and (kid is None or k.get("kid") == kid)
                  and k.get("use", "sig") == "sig" and k.get("alg", alg) == alg]
    if not candidates:
        raise bad(IDP_KEY_MESSAGE)
    verified = False
    for jwk in candidates:
        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            jwt.PyJWS().decode_complete(token, key=key, algorithms=[alg])
            verified = True
            break
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    if not verified:
        raise bad("The token signature could not be verified")
    aud = claims["aud"]
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    matched = [a for a in auds if isinstance(a, str) and a in provider["client_ids"]]
    if not matched:
        raise bad("Incorrect token audience")
    t = now()
    skew = cfg["token_skew_seconds"]
    exp, iat = claims["exp"], claims["iat"]
    if not _num(exp) or not _num(iat):
        raise bad("Invalid token time claims")
    if t >= exp:
        raise ApiError("ExpiredTokenException",
                       "Token expired: current date/time %d must be before the "
                       "expiration date/time %d" % (int(t), int(exp)), 400)
    if iat > t + skew:
        raise bad("Token issued in the future: current date/time %d must be after "
                  "the issue date/time %d" % (int(t), int(iat)))
    nbf = claims.get("nbf")
    if nbf is not None and (not _num(nbf) or nbf > t + skew):
        raise bad("Token not yet valid: current date/time %d must be after the "
                  "not-before date/time %s" % (int(t), nbf if _num(nbf) else "?"))
    if not isinstance(claims["sub"], str):
        raise bad("Invalid subject")
    return claims, provider, matched[0]


# ------------------------------------------------------------ STS actions

def _check_params(params, spec):
    """Model constraints in order; ValidationError listing all that fail."""
    problems = []
    for pname, field, required, lo, hi, pattern, sensitive in spec:
        val = params.get(pname)
        shown = "*** Sensitive Data Redacted ***" if sensitive else val
        if val is None:
            if required:
                problems.append("Value null at '%s' failed to satisfy constraint: "
                                "Member must not be null" % field)
            continue
        if pattern == "int":
            try:
                n = int(val)
            except ValueError:
                problems.append("Value '%s' at '%s' failed to satisfy constraint: "
                                "Member must be an integer" % (shown, field))
                continue
            if n < lo:
                problems.append("Value '%d' at '%s' failed to satisfy constraint: Member "
                                "must have value greater than or equal to %d" % (n, field, lo))
            elif n > hi:
                problems.append("Value '%d' at '%s' failed to satisfy constraint: Member "
                                "must have value less than or equal to %d" % (n, field, hi))
            continue
        if len(val) < lo:
            problems.append("Value '%s' at '%s' failed to satisfy constraint: Member must "
                            "have length greater than or equal to %d" % (shown, field, lo))
        elif len(val) > hi:
            problems.append("Value '%s' at '%s' failed to satisfy constraint: Member must "
                            "have length less than or equal to %d" % (shown, field, hi))
        if pattern is not None and not pattern.match(val):
            problems.append("Value '%s' at '%s' failed to satisfy constraint: Member must "
                            "satisfy regular expression pattern: %s"
                            % (shown, field, pattern.pattern.strip("^$")))
    if problems:
        raise validation_error(problems)


def _credentials_items(sess):
    return [("AccessKeyId", sess.access_key_id), ("SecretAccessKey", sess.secret),
            ("SessionToken", sess.token), ("Expiration", iso(sess.expiration))]


def _role_arn_checked(arn):
    if not ROLE_ARN_RE.match(arn):
        raise ApiError("ValidationError", "Request ARN is invalid", 400)


def sts_get_caller_identity(state, cfg, params, caller):
    return [("Arn", caller["arn"]), ("UserId", caller["user_id"]),
            ("Account", caller["account"])]


def sts_assume_role_with_web_identity(state, cfg, params, caller):
    _check_params(params, [
        ("RoleArn", "roleArn", True, 20, 2048, None, False),
        ("RoleSessionName", "roleSessionName", True, 2, 64, SESSION_NAME_RE, False),
        ("WebIdentityToken", "webIdentityToken", True, 4, 20000, None, True),
        ("ProviderId", "providerId", False, 4, 2048, None, False),
        ("Policy", "policy", False, 1, 2048, None, False),
        ("DurationSeconds", "durationSeconds", False, 900, 43200, "int", False),
    ])
    _role_arn_checked(params["RoleArn"])
    claims, provider, audience = verify_web_identity(cfg, params["WebIdentityToken"])
    role = cfg["roles"].get(params["RoleArn"])
    ctx = {}
    for name, value in claims.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            ctx[("%s:%s" % (provider["id"], name)).lower()] = str(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            ctx[("%s:%s" % (provider["id"], name)).lower()] = value
    ctx[("%s:aud" % provider["id"]).lower()] = audience
    ok = role is not None and trust_allows(
        role, "sts:AssumeRoleWithWebIdentity",
        lambda st: st["federated"] is not None and provider["id"] in st["federated"], ctx)
    if not ok:
        raise ApiError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
    duration = int(params.get("DurationSeconds", 3600))
    if duration > role["max"]:
        raise ApiError("ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.", 400)
    sess = state.remember(Session(cfg, role, params["RoleSessionName"], duration))
    return [("Credentials", _credentials_items(sess)),
            ("SubjectFromWebIdentityToken", claims["sub"]),
            ("AssumedRoleUser", [("AssumedRoleId", sess.user_id), ("Arn", sess.arn)]),
            ("Provider", provider["arn"]),
            ("Audience", audience)]


def sts_assume_role(state, cfg, params, caller):
    _check_params(params, [
        ("RoleArn", "roleArn", True, 20, 2048, None, False),
        ("RoleSessionName", "roleSessionName", True, 2, 64, SESSION_NAME_RE, False),
        ("Policy", "policy", False, 1, 2048, None, False),
        ("DurationSeconds", "durationSeconds", False, 900, 43200, "int", False),
        ("ExternalId", "externalId", False, 2, 1224, EXTERNAL_ID_RE, False),
        ("SourceIdentity", "sourceIdentity", False, 2, 64, SESSION_NAME_RE, False),
    ])
    _role_arn_checked(params["RoleArn"])
    role = cfg["roles"].get(params["RoleArn"])
    principal = caller["role_arn"] if caller["kind"] == "role" else caller["arn"]
    names = {caller["arn"], principal}

    def principal_ok(st):
        if st["aws"] is None:
            return False
        for p in st["aws"]:
            if p in names or p == "*":
                return True
            if p in (caller["account"], "arn:aws:iam::%s:root" % caller["account"]):
                return True
        return False

    ctx = {"aws:principalarn": principal, "sts:rolesessionname": params["RoleSessionName"],
           "aws:principalaccount": caller["account"]}
    if "ExternalId" in params:
        ctx["sts:externalid"] = params["ExternalId"]
    if "SourceIdentity" in params:
        ctx["sts:sourceidentity"] = params["SourceIdentity"]
    if role is None or not trust_allows(role, "sts:AssumeRole", principal_ok, ctx):
        raise ApiError("AccessDenied", "User: %s is not authorized to perform: "
                       "sts:AssumeRole on resource: %s" % (caller["arn"], params["RoleArn"]), 403)
    duration = int(params.get("DurationSeconds", 3600))
    chained = caller["kind"] == "role"
    if chained and duration > 3600:
        raise ApiError("ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                       "session limit for roles assumed by role chaining.", 400)
    if duration > role["max"]:
        raise ApiError("ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.", 400)
    sess = state.remember(Session(cfg, role, params["RoleSessionName"], duration, chained))
    items = [("Credentials", _credentials_items(sess)),
             ("AssumedRoleUser", [("AssumedRoleId", sess.user_id), ("Arn", sess.arn)])]
    if "SourceIdentity" in params:
        items.append(("SourceIdentity", params["SourceIdentity"]))
    return items


class Service:
    def __init__(self, name, protocol):
        self.name = name
        self.protocol = protocol


class Operation:
    def __init__(self, handler, auth):
        self.handler = handler
        self.auth = auth            # "sigv4": must be signed; "optional": may be


SERVICES = {
    "sts": Service("sts", QueryProtocol(STS_XMLNS, STS_VERSION)),
    # Later work: "ecr": Service("ecr", Json11Protocol("AmazonEC2ContainerRegistry_V20150921")),
    #             "ecs": Service("ecs", Json11Protocol("AmazonEC2ContainerServiceV20141113")),
    #             "cloudfront": a REST-XML protocol keyed by method and path.
}

OPERATIONS = {
    ("sts", "GetCallerIdentity"): Operation(sts_get_caller_identity, "sigv4"),
    ("sts", "AssumeRole"): Operation(sts_assume_role, "sigv4"),
    ("sts", "AssumeRoleWithWebIdentity"): Operation(sts_assume_role_with_web_identity, "optional"),
}


def route(req, sig):
    """The service a request is for: the signing service when it is one of
    ours, else a JSON target's, else STS (unsigned form posts)."""
    if sig is not None and sig.service in SERVICES:
        return SERVICES[sig.service]
    target = req.header("x-amz-target")
    if target:
        prefix = target.partition(".")[0]
        for svc in SERVICES.values():
            if getattr(svc.protocol, "target_prefix", None) == prefix:
                return svc
    return SERVICES["sts"]


# ------------------------------------------------------------------ HTTP

class Request:
    def __init__(self, handler, body):
        self.method = handler.command
        target = handler.path
        self.path, _, self.raw_query = target.partition("?")
        self.headers = handler.headers
        self.body = body
        self.params = None

    def header(self, name):
        return self.headers.get(name)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def version_string(self):
        return "fake_aws"
    timeout = 60

    def log_message(self, fmt, *args):       # the default would log the query
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    @property
    def state(self):
        return self.server.state

    def read_body(self):
        te = (self.headers.get("transfer-encoding") or "").lower()
        if te == "chunked":
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("content-length")
        if length is None:
            return b""
        n = int(length)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad content-length")
        return self.rfile.read(n)

    def send(self, status, ctype, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._status = status

    def send_json(self, status, obj, extra=()):
        self.send(status, "application/json", (json.dumps(obj, indent=1) + "\n").encode(), extra)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._status = "drop"

    def dispatch(self):
        self._status = None
        self._action = "-"
        path = self.path.partition("?")[0]
        shown = path
        try:
            try:
                body = self.read_body()
            except ValueError:
                self.close_connection = True
                self.send(400, "text/plain", b"bad request body\n")
                return
            if path.startswith("/_fake/"):
                self.admin(path, body)
            elif path.startswith("/latest/"):
                self.imds(path)
            elif path == "/_ecs/creds" or path.startswith("/v2/credentials/"):
                if path.startswith("/v2/credentials/"):
                    shown = "/v2/credentials/<id>"
                self.ecs(path)
            else:
                self.api(Request(self, body))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self._status = "reset"
        finally:
            log("%s %s %s %s" % (self.command, shown[:200], self._action, self._status))

    # -- admin ------------------------------------------------------------
    def admin(self, path, body):
        st = self.state
        self._action = "admin"
        if path == "/_fake/health" and self.command == "GET":
            return self.send_json(200, {"ok": True})
        if path == "/_fake/calls" and self.command == "GET":
            with st.lock:
                calls = list(st.calls)
            return self.send_json(200, calls)
        if self.command != "POST":
            return self.send_json(404, {"error": "no such admin endpoint"})
        try:
            obj = json.loads(body or b"null")
        except ValueError:
            return self.send_json(400, {"error": "body is not JSON"})
        if path == "/_fake/config":
            try:
                cfg = load_config(obj)
            except ConfigError as e:
                return self.send_json(400, {"error": str(e)})
            with st.lock:
                st.config = cfg
            return self.send_json(200, {"ok": True})
        if path == "/_fake/faults":
            faults = obj if isinstance(obj, list) else [obj]
            parsed = []
            for f in faults:
                try:
                    parsed.append(parse_fault(f))
                except ValueError as e:
                    return self.send_json(400, {"error": str(e)})
            with st.lock:
                st.faults.extend(parsed)
            return self.send_json(200, {"ok": True})
        if path == "/_fake/reset":
            with st.lock:
                st.faults = []
                st.calls = []
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "no such admin endpoint"})

    # -- a fault for a non-API endpoint (IMDS, ECS) -----------------------
    def plain_fault(self, service, action):
        fault = self.state.take_fault(service, action)
        if fault is None:
            return False
        if fault.get("drop"):
            self.drop()
        else:
            self.send(fault["status"], "text/plain", (fault["message"] + "\n").encode())
        self.record(service, action, False, None, fault.get("code"))
        return True

    def record(self, service, action, signed, akid, code=None):
        status = None if self._status in ("drop", "reset") else self._status
        self.state.record({"service": service, "action": action, "status": status,
                           "code": code, "signed": signed, "access_key_id": akid,
                           "dropped": self._status == "drop", "time": round(now(), 3)})

    # -- EC2 instance metadata, IMDSv2 only -------------------------------
    def imds(self, path):
        st = self.state
        cfg = st.config
        if path == "/latest/api/token":
            self._action = "ImdsToken"
            if self.plain_fault("imds", self._action):
                return
            if self.command != "PUT":
                self.send(405, "text/plain", b"Method Not Allowed\n")
            elif self.headers.get("x-forwarded-for") is not None:
                self.send(403, "text/plain", b"Forbidden\n")
            else:
                ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
                try:
                    n = int(ttl)
                    if not 1 <= n <= 21600:
                        raise ValueError
                except (TypeError, ValueError):
                    self.send(400, "text/plain", b"Bad Request\n")
                else:
                    token = base64.b64encode(os.urandom(42)).decode()
                    with st.lock:
                        t = now()
                        st.imds_tokens = {k: v for k, v in st.imds_tokens.items() if v > t}
                        st.imds_tokens[token] = t + n
                    self.send(200, "text/plain", token.encode(),
                              [("X-aws-ec2-metadata-token-ttl-seconds", str(n))])
            return self.record("imds", self._action, False, None)
        prefix = "/latest/meta-data/iam/security-credentials/"
        self._action = "ImdsCredentials" if path.startswith(prefix) and path != prefix else (
            "ImdsListRoles" if path == prefix else "ImdsMetadata")
        if self.plain_fault("imds", self._action):
            return
        token = self.headers.get("x-aws-ec2-metadata-token")
        with st.lock:
            valid = token is not None and st.imds_tokens.get(token, 0) > now()
        if self.command not in ("GET", "HEAD"):
            self.send(405, "text/plain", b"Method Not Allowed\n")
        elif not valid:
            self.send(401, "text/plain", b"Unauthorized\n")
        elif path == prefix:
            if cfg["imds_role"]:
                self.send(200, "text/plain", role_for(cfg, cfg["imds_role"])["name"].encode())
            else:
                self.send(404, "text/plain", b"Not Found\n")
        elif path.startswith(prefix):
            name = path[len(prefix):]
            role = role_for(cfg, cfg["imds_role"]) if cfg["imds_role"] else None
            if role is None or name != role["name"]:
                self.send(404, "text/plain", b"Not Found\n")
            else:
                sess = self.cached_session("imds", role, cfg["instance_id"])
                self.send(200, "text/plain", json.dumps({
                    "Code": "Success", "LastUpdated": iso(sess.issued), "Type": "AWS-HMAC",
                    "AccessKeyId": sess.access_key_id, "SecretAccessKey": sess.secret,
                    "Token": sess.token, "Expiration": iso(sess.expiration)},
                    indent=2).encode())
        elif path == "/latest/meta-data/placement/region":
            self.send(200, "text/plain", cfg["region"].encode())
        elif path == "/latest/meta-data/placement/availability-zone":
            self.send(200, "text/plain", (cfg["region"] + "a").encode())
        elif path == "/latest/meta-data/instance-id":
            self.send(200, "text/plain", cfg["instance_id"].encode())
        else:
            self.send(404, "text/plain", b"Not Found\n")
        self.record("imds", self._action, False, None)

    def cached_session(self, kind, role, session_name):
        """Like EC2 and ECS: the same credentials until they near expiry."""
        st = self.state
        cfg = st.config
        key = (kind, role["arn"])
        with st.lock:
            sess = st.cached.get(key)
        if sess is not None:
            life = sess.expiration - sess.issued
            if sess.expiration - now() > min(300, life / 2):
                return sess
        sess = st.remember(Session(cfg, role, session_name, 21600))
        with st.lock:
            st.cached[key] = sess
        return sess

    # -- ECS container credentials ---------------------------------------
    def ecs(self, path):
        st = self.state
        cfg = st.config
        self._action = "EcsCredentials"
        if self.plain_fault("ecs", self._action):
            return
        if self.command not in ("GET", "HEAD"):
            self.send_json(405, {"code": "MethodNotAllowed", "message": "GET only"})
        elif path == "/_ecs/creds" and (
                not cfg["ecs_auth_token"]
                or not hmac.compare_digest((self.headers.get("authorization") or "").encode(),
                                           cfg["ecs_auth_token"].encode())):
            self.send_json(401, {"code": "Unauthorized",
                                 "message": "missing or wrong Authorization header"})
        elif path.startswith("/v2/credentials/") and cfg["ecs_credentials_id"] is not None \
                and path[len("/v2/credentials/"):] != cfg["ecs_credentials_id"]:
            self.send_json(400, {"code": "InvalidIdInRequest",
                                 "message": "CredentialsV2Request: Credentials not found"})
        elif not cfg["ecs_role"]:
            self.send_json(404, {"code": "NoCredentialEntity",
                                 "message": "no ecs_role in the fake's config"})
        else:
            role = role_for(cfg, cfg["ecs_role"])
            sess = self.cached_session("ecs", role, cfg["ecs_task_id"])
            self.send_json(200, {"RoleArn": role["arn"], "AccessKeyId": sess.access_key_id,
                                 "SecretAccessKey": sess.secret, "Token": sess.token,
                                 "Expiration": iso(sess.expiration)})
        self.record("ecs", self._action, False, None)

    # -- AWS APIs ---------------------------------------------------------
    def api(self, req):
        st = self.state
        cfg = st.config
        request_id = str(uuid.uuid4())
        sig = parse_sigv4(req)
        svc = route(req, sig)
        proto = svc.protocol
        signed = sig is not None
        akid = sig.access_key_id if sig is not None else None
        action = None
        code = None
        try:
            try:
                action = proto.action(req)
            except ApiError:
                action = None
            self._action = action or (req.header("x-amz-target") or "-")[:100]
            fault = st.take_fault(svc.name, action or "")
            if fault is not None:
                if fault.get("drop"):
                    self.drop()
                    self.record(svc.name, action, signed, akid, None)
                    return
                raise ApiError(fault["code"], fault["message"], fault["status"])
            op = OPERATIONS.get((svc.name, action))
            proto.check_action(req, action, op is not None)
            params = proto.params(req)
            caller = None
            if sig is not None:
                caller = authenticate(st, cfg, req, sig, svc.name)
            elif op.auth == "sigv4":
                raise ApiError("MissingAuthenticationToken",
                               "Request is missing Authentication Token", 403)
            result = op.handler(st, cfg, params, caller)
            status, ctype, body = proto.result(action, result, request_id)
        except ApiError as e:
            code = e.code
            status, ctype, body = proto.error(e, request_id)
        self.send(status, ctype, body, [("x-amzn-RequestId", request_id)])
        self.record(svc.name, action, signed, akid, code)


def parse_fault(f):
    if not isinstance(f, dict):
        raise ValueError("a fault must be an object")
    action = f.get("action")
    if not isinstance(action, str) or not action:
        raise ValueError("fault: 'action' must be an action name or '*'")
    count = f.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError("fault: 'count' must be a positive integer")
    out = {"action": action, "count": count, "service": f.get("service")}
    if f.get("drop"):
        out["drop"] = True
        return out
    status = f.get("status")
    code = f.get("code")
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("fault: 'status' must be 400..599 (or 'drop': true)")
    if not isinstance(code, str) or not code:
        raise ValueError("fault: 'code' must be an error code")
    message = f.get("message", FAULT_MESSAGES.get(code, code))
    if not isinstance(message, str):
        raise ValueError("fault: 'message' must be a string")
    out.update(status=status, code=code, message=message)
    return out


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, state, host="127.0.0.1"):
        super().__init__((host, port), Handler)
        self.state = state

    def handle_error(self, request, client_address):
        log("internal error: %s" % sys.exc_info()[1].__class__.__name__)
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
    ap = argparse.ArgumentParser(description="A fake AWS control plane on loopback.")
    ap.add_argument("--config", required=True, help="the config JSON file")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0: any free one)")
    ap.add_argument("--ready-file", help="where to write the base URL once listening")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on: 127.0.0.1 (default), or the ECS/EC2 "
                         "link-local 169.254.170.2 / 169.254.169.254, only inside a "
                         "network namespace the test made")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "169.254.170.2", "169.254.169.254"):
        print("fake_aws: --host %s: only 127.0.0.1 or the link-local credential "
              "addresses" % args.host, file=sys.stderr)
        return 2
    try:
        with open(args.config, "rb") as f:
            cfg = load_config(json.load(f))
    except (OSError, ValueError) as e:
        print("fake_aws: config: %s" % e, file=sys.stderr)
        return 2
    state = State(cfg)
    server = Server(args.port, state, args.host)
    url = "http://%s:%d" % (args.host, server.server_address[1])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    if args.ready_file:
        write_ready(args.ready_file, url)
    print(url, flush=True)
    log("listening on %s" % url)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
