"""What tests/agent/run and bench/agent share: starting agents, signing
and sending deliveries, the API, a fake forge. Every wait is bounded."""
import gzip
import hashlib
import hmac
from http import server as httpserver
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

SECRET = "agent-test-webhook-secret-0001"
API_TOKEN = "agent-test-api-token-000000001"
GIT_TOKEN = "agent-test-git-token-0000000001"
_procs = []
_procs_lock = threading.Lock()


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def wait_for(fn, secs, what):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            if fn():
                return
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s" % (secs, what))


def sh(args, cwd=None, env=None, timeout=60, check=True, stderr=False):
    p = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d: %s%s" % (" ".join(args), p.returncode,
                                                    p.stdout, p.stderr))
    return p.stdout + (p.stderr if stderr else "")


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def read_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def read_log(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, token=None, timeout=30):
    """(status, parsed JSON or text); status None when the connection failed."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            st, raw = r.status, r.read()
    except urllib.error.HTTPError as ex:
        st, raw = ex.code, ex.read()
    except (OSError, urllib.error.URLError):
        return None, None
    text = raw.decode("utf-8", "replace")
    try:
        return st, json.loads(text)
    except ValueError:
        return st, text


def raw_post(port, path, headers, chunked_mb=0):
    """A POST written by hand (sizes urllib will not send); (status, text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % path
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode())
        if chunked_mb:
            chunk = b"x" * (1024 * 1024)
            try:
                for _ in range(chunked_mb):
                    s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                s.sendall(b"0\r\n\r\n")
            except OSError:
                pass
        data = b""
        while b"\r\n" not in data:
            got = s.recv(4096)
            if not got:
                break
            data += got
        line = data.split(b"\r\n", 1)[0].decode()
        return int(line.split()[1]) if line.startswith("HTTP/") else None, data.decode("latin1")
    finally:
        s.close()


def sign_body(body, secret=SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_payload(env, sha, ref="refs/heads/main", clone_url=None, paths=("src/a.c",)):
    return {"ref": ref, "before": "0" * 40, "after": sha, "created": True,
            "deleted": False,
            "repository": {"full_name": "acme/app", "name": "app",
                           "clone_url": clone_url or env.clone_url,
                           "html_url": "http://127.0.0.1/acme/app",
                           "default_branch": "main"},
            "pusher": {"name": "dev"}, "sender": {"login": "dev"},
            "commits": [{"id": sha, "message": "x", "added": list(paths),
                         "modified": [], "removed": []}]}


class Agent:
    """A gantry agent with its own data folder and port."""

    def __init__(self, gantry, top, name, env_over, drop=(), config=None):
        self.gantry = gantry
        self.config = config
        self.name = name
        self.data = os.path.join(top, "agent-" + name)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.errlog = os.path.join(top, "agent-%s.stderr" % name)
        base = {k: v for k, v in os.environ.items() if "__" not in k}
        base.update({"WEBHOOK__SECRET": SECRET, "API__TOKEN": API_TOKEN,
                     "GIT__TOKEN": GIT_TOKEN, "DATA__DIR": self.data,
                     "SERVER__LISTEN": "127.0.0.1:%d" % self.port,
                     "WORKERS__COUNT": "2", "WORKERS__JOBS": "2",
                     "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                     ":detect_leaks=1"})
        base.update(env_over)
        for k in drop:
            base.pop(k, None)
        self.env = base
        self.proc = None
        self.start()

    def start(self, timeout=30):
        with open(self.errlog, "a") as f:
            argv = [self.gantry, "agent"] + (["--config", self.config] if self.config else [])
            self.proc = subprocess.Popen(argv, env=self.env,
                                         stdin=subprocess.DEVNULL,
                                         stdout=f, stderr=f, start_new_session=True)
        with _procs_lock:
            _procs.append(self.proc)
        wait_for(lambda: http("GET", self.url + "/healthz", timeout=2)[0] == 200,
                 timeout, "agent %s to answer" % self.name)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.kill9()

    def stderr(self):
        with open(self.errlog, errors="replace") as f:
            return f.read()

    def check_stderr(self):
        text = self.stderr()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            check(bad not in text, "agent %s: %s report: %s" % (self.name, bad,
                                                               text[text.find(bad) - 200:][:1500]))
        for s in (SECRET, API_TOKEN, GIT_TOKEN):
            check(s not in text, "agent %s printed a secret" % self.name)

    def api(self, method, path, body=None, headers=None):
        return http(method, self.url + path, body=body, headers=headers, token=API_TOKEN)

    def deliver(self, body, event="push", delivery=None, forge="github", 
                sig=None, secret=SECRET, timeout=30, sign=True):
        delivery = delivery or "d-%d-%d" % (os.getpid(), time.monotonic_ns())
        h = {"Content-Type": "application/json"}
        if forge == "github":
            if event:
                h["X-GitHub-Event"] = event
            h["X-GitHub-Delivery"] = delivery
            if sign:
                h["X-Hub-Signature-256"] = sig or "sha256=" + sign_body(body, secret)
        elif forge == "gitea":
            h["X-Gitea-Event"] = event
            h["X-Gitea-Delivery"] = delivery
            h["X-Gitea-Signature"] = sig or sign_body(body, secret)
        elif forge == "gitlab":
            h["X-Gitlab-Event"] = "Push Hook"
            h["X-Gitlab-Event-UUID"] = delivery
            h["X-Gitlab-Token"] = secret
        return http("POST", self.url + "/webhook", body=body, headers=h, timeout=timeout)

    def wait_run(self, rid, timeout=90):
        out = {}

        def done():
            st, run = self.api("GET", "/runs/%d" % rid)
            if st == 200 and run["status"] not in ("queued", "running"):
                out["run"] = run
                return True
            return False
        wait_for(done, timeout, "run %d to finish" % rid)
        return out["run"]

    def logs(self, rid):
        st, text = self.api("GET", "/runs/%d/logs" % rid)
        check(st == 200, "logs of run %d: %s %s" % (rid, st, text))
        return text if isinstance(text, str) else json.dumps(text)

    def wait_log(self, rid, needle, timeout=60):
        path = os.path.join(self.data, "logs", "%d.log" % rid)

        def has():
            return os.path.exists(path) and needle in read_log(path)
        wait_for(has, timeout, "'%s' in the log of run %d" % (needle, rid))

    def count_runs(self, statuses=None):
        st, body = self.api("GET", "/runs?limit=1000")
        check(st == 200, "GET /runs: %s" % st)
        return sum(1 for r in body["runs"] if not statuses or r["status"] in statuses)


class Follow:
    """GET /runs/ID/logs in a thread, read to its end."""

    def __init__(self, agent, rid):
        self.text = None
        self.t = threading.Thread(target=self._run, args=(agent, rid), daemon=True)
        self.t.start()

    def _run(self, agent, rid):
        deadline = time.time() + 20
        while time.time() < deadline:
            st, text = agent.api("GET", "/runs/%d/logs" % rid)
            if st == 200:
                self.text = text if isinstance(text, str) else json.dumps(text)
                return
            time.sleep(0.05)

    def result(self, timeout):
        self.t.join(timeout)
        check(self.text is not None, "the log was not followed to its end")
        return self.text


def status_senders():
    """The `gantry __forge-status` processes now: [(argv, environment)]."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            if argv[1:] != ["__forge-status"]:
                continue
            with open("/proc/%s/environ" % pid, "rb") as f:
                envv = [e.decode(errors="replace") for e in f.read().split(b"\0") if e]
        except (OSError, IndexError):
            continue
        out.append((argv, envv))
    return out


class Forge:
    """Records commit statuses POSTed to /repos/O/R/statuses/SHA (GitHub)
    or /api/v4/projects/ID/statuses/SHA (GitLab), with the processes that
    were sending one then (status_senders)."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        forge = self

        class H(httpserver.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                senders = status_senders()
                with forge.lock:
                    forge.posts.append({"path": self.path, "body": body,
                                        "auth": self.headers.get("Authorization"),
                                        "private_token": self.headers.get("PRIVATE-TOKEN"),
                                        "senders": senders})
                out = b'{"id":1}'
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait_statuses(self, sha, n, timeout=30, under=""):
        def mine():
            return [p for p in self.posts
                    if p["path"].endswith(sha) and p["path"].startswith(under)]

        def got():
            with self.lock:
                return len(mine()) >= n
        wait_for(got, timeout, "%d commit statuses for %s" % (n, sha))
        with self.lock:
            return mine()

    def stop(self):
        self.srv.shutdown()


def stop_all():
    with _procs_lock:
        for p in _procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait(timeout=30)
