"""(6) agent: `gantry agent` under load, on loopback (bench/run agent).

intake: wrk (Debian's) with a Lua script posts signed GitHub push
    deliveries, each with its own X-GitHub-Delivery, for BENCH_AGENT_SECS
    (default 10) seconds over 16 connections; every 2xx answer was
    committed to the queue before it was sent (SQLite: WAL with
    synchronous=FULL; PostgreSQL: a committed transaction), and the number
    of runs in the queue afterwards is checked against the answers. Side by
    side: the same wrk against GET /healthz of the same agent, which
    touches no database: the ceiling of the HTTP layer. Target: at least
    2,000 deliveries/s on SQLite and on PostgreSQL. The runs the deliveries
    make point at a closed port, so the one worker fails them at once
    instead of competing with the intake for the two cores.
latency: from a delivery's arrival to the first step's start, as gantry
    records it (steps[].started_ms of the run) and as the step sees it
    (it prints its own start time, `date +%s%N`), BENCH_AGENT_LATENCY
    (default 200) deliveries one after another, the repository mirrored
    (the commit is in the agent's mirror, so no fetch), a one-step
    workflow, with the strict sandbox, with WORKERS__SANDBOX=off and with
    WORKERS__PRESTART=false (each run's process started when it comes); the
    agents' data and TMPDIR on /dev/shm unless BENCH_DISK=1 (file creation
    on this VM's disk costs up to a millisecond each). Side by side:
    `gantry run` started by hand on the same work tree. Target p50 under
    20 ms, p99 under 100 ms.
memory: the agent's VmRSS, RssAnon (private) and PSS idle after start,
    and after BENCH_AGENT_RUNS (default 10,000) runs (pushes no workflow
    runs on: each still a delivery, a claim, a `gantry run --clone` child
    and a result). Target: idle under 10 MB, growth under 2 MB.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "agent"))
import agentlib as A  # noqa: E402

LUA = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end
local n = 0
request = function()
  n = n + 1
  wrk.headers["X-GitHub-Delivery"] = "%(nonce)s-" .. thread_no .. "-" .. n
  return wrk.format("POST", "/webhook")
end
"""
WORKFLOW = """on:
  push:
    branches: [main]
jobs:
  t:
    runs-on: ubuntu-latest
    steps:
      - run: echo "T0=$(date +%s%N)"
"""


def env_int(name, dflt, lo, hi):
    try:
        return max(lo, min(hi, int(os.environ.get(name, dflt))))
    except ValueError:
        return dflt


def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pss_kb(pid):
    total = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


def mem(pid):
    return rss_kb(pid), rss_kb(pid, "RssAnon"), pss_kb(pid)


class Repo:
    """A served repository with the latency workflow, pushed once."""

    def __init__(self, top):
        self.gs = os.path.join(top, "gs")
        A.sh([os.path.join(ROOT, "scripts", "git-servers"), "start", self.gs])
        s = A.read_env(os.path.join(self.gs, "servers.env"))
        bare = os.path.join(s["REPOS"], "bench", "app.git")
        os.makedirs(os.path.dirname(bare))
        A.sh(["git", "init", "-q", "--bare", "-b", "main", bare])
        self.url = s["HTTP_ANON_URL"] + "bench/app.git"
        self.work = os.path.join(top, "src")
        A.sh(["git", "init", "-q", "-b", "main", self.work])
        A.write(os.path.join(self.work, ".github/workflows/t.yml"), WORKFLOW)
        A.sh(["git", "-C", self.work, "-c", "user.name=b", "-c", "user.email=b@x",
              "commit", "-q", "-m", "x", "--allow-empty"])
        A.sh(["git", "-C", self.work, "add", "-A"])
        A.sh(["git", "-C", self.work, "-c", "user.name=b", "-c", "user.email=b@x",
              "commit", "-q", "-m", "wf"])
        A.sh(["git", "-C", self.work, "push", "-q", bare, "main"])
        self.sha = A.sh(["git", "-C", self.work, "rev-parse", "HEAD"]).strip()
        self.clone_url = self.url

    def stop(self):
        A.sh([os.path.join(ROOT, "scripts", "git-servers"), "stop", self.gs], check=False)


def wrk(url, secs, script=None):
    args = ["wrk", "-t2", "-c16", "-d%ds" % secs, "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [url], capture_output=True, text=True,
                         timeout=secs + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def to_ms(m):
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    return rps, total, int(bad.group(1)) if bad else 0, to_ms(p50), to_ms(p99)


def intake(gantry, top, repo, backend, queue_url, secs):
    over = {"WORKERS__COUNT": "1"}
    if queue_url:
        over["QUEUE__URL"] = queue_url
    ag = A.Agent(gantry, top, "intake-" + backend, over)
    try:
        dead = "http://127.0.0.1:%d/none.git" % A.free_port()
        body = json.dumps(A.push_payload(repo, repo.sha, clone_url=dead)).encode()
        script = os.path.join(top, "intake-%s.lua" % backend)
        nonce = "b%d" % time.monotonic_ns()
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(body.decode()))
            f.write('wrk.headers["Content-Type"] = "application/json"\n')
            f.write('wrk.headers["X-GitHub-Event"] = "push"\n')
            f.write('wrk.headers["X-Hub-Signature-256"] = "sha256=%s"\n' % A.sign_body(body))
            f.write(LUA % {"nonce": nonce})
        base = ag.count_runs() if backend == "sqlite" else None
        ceil = wrk(ag.url + "/healthz", secs)
        got = wrk(ag.url + "/webhook", secs, script)
        st, m = A.http("GET", ag.url + "/metrics")
        queued = int(re.search(r'deliveries_total\{result="queued"\} (\d+)', m).group(1))
        print("  %-44s %10.0f %10.2f %10.2f  %s" % (
            "GET /healthz (%s agent, no database)" % backend, ceil[0], ceil[3], ceil[4], ""))
        print("  %-44s %10.0f %10.2f %10.2f  %s" % (
            "POST /webhook, stored durably (%s)" % backend, got[0], got[3], got[4],
            "%d answered, %d not 2xx, %d runs queued; %s" % (
                got[1], got[2], queued, "target >= 2000/s: %s" %
                ("met" if got[0] >= 2000 else "NOT met"))))
        if got[2] or queued < got[1] - 16:
            print("  !! answers and stored runs disagree")
        del base
    finally:
        ag.stop()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def latency_row(name, step, inside, target=False):
    verdict = ""
    if target:
        verdict = "  target p50 < 20, p99 < 100: %s" % (
            "met" if pct(step, .5) < 20 and pct(step, .99) < 100 else "NOT met")
    print("  %-40s %8.1f %8.1f %8.1f %9.1f %8.1f%s" % (
        name, pct(step, .5), pct(step, .99), max(step), pct(inside, .5),
        pct(inside, .99), verdict))


def latency_agent(gantry, top, repo, n, sandbox, prestart="true"):
    ag = A.Agent(gantry, top, "latency-%s-%s" % (sandbox, prestart),
                 {"WORKERS__COUNT": "2", "WORKERS__SANDBOX": sandbox,
                  "WORKERS__PRESTART": prestart})
    step, inside = [], []
    try:
        body_of = lambda: json.dumps(A.push_payload(repo, repo.sha)).encode()
        # first run: makes the mirror and the work tree
        st, b = ag.deliver(body=body_of(), delivery="warm-0")
        ag.wait_run(b["run_id"], timeout=120)
        for i in range(n):
            body = body_of()
            t0 = time.time_ns()
            st, b = ag.deliver(body=body, delivery="lat-%d-%d" % (os.getpid(), i))
            run = ag.wait_run(b["run_id"], timeout=60)
            if run["status"] != "success":
                raise RuntimeError("run %d: %s" % (b["run_id"], run["status"]))
            step.append(run["jobs"][0]["steps"][0]["started_ms"] - t0 / 1e6)
            m = re.search(r"T0=(\d+)", ag.logs(b["run_id"]))
            inside.append((int(m.group(1)) - t0) / 1e6)
        ws = [os.path.join(ag.data, "work", "acme_app", w) for w in ("w0", "w1")]
        ws = [w for w in ws if os.path.isdir(w)][0]
    finally:
        ag.stop()
    return step, inside, ws


def latency(gantry, top, repo, n):
    step, inside, ws = latency_agent(gantry, top, repo, n, "strict")
    # by hand: gantry run on the agent's own work tree
    hstep, hinside = [], []
    summary = os.path.join(top, "hand.json")
    for i in range(min(n, 50)):
        t0 = time.time_ns()
        out = subprocess.run([gantry, "run", "-C", ws, "--json-summary", summary],
                             capture_output=True, text=True, timeout=60).stdout
        with open(summary) as f:
            hstep.append(json.load(f)["jobs"][0]["steps"][0]["started_ms"] - t0 / 1e6)
        hinside.append((int(re.search(r"T0=(\d+)", out).group(1)) - t0) / 1e6)
    ostep, oinside, _ = latency_agent(gantry, top, repo, min(n, 100), "off")
    pstep, pinside, _ = latency_agent(gantry, top, repo, min(n, 100), "strict", "false")
    print("  %-40s %8s %8s %8s %9s %8s" % ("", "p50 ms", "p99 ms", "max ms",
                                          "in p50", "in p99"))
    latency_row("gantry run by hand (%d)" % len(hstep), hstep, hinside)
    latency_row("webhook, sandbox strict (%d)" % len(step), step, inside, True)
    latency_row("webhook, WORKERS__SANDBOX=off (%d)" % len(ostep), ostep, oinside)
    latency_row("webhook, WORKERS__PRESTART=false (%d)" % len(pstep), pstep, pinside)
    print("  (to the step's start as gantry records it, steps[].started_ms; \"in\": to "
          "the first instruction inside the step, `date +%s%N` in bash)")


def idle_agent(ag):
    m = A.http("GET", ag.url + "/metrics")[1]
    return bool(re.search(r"gantry_queue_depth 0\b", m)) and "gantry_workers_busy 0" in m


def memory(gantry, top, repo, runs):
    ag = A.Agent(gantry, top, "memory", {"WORKERS__COUNT": "2"})
    try:
        time.sleep(1)
        idle = mem(ag.proc.pid)
        body = json.dumps(A.push_payload(repo, repo.sha, ref="refs/heads/nothing-runs")).encode()
        # warm: the mirror, the work trees, the first allocations
        for i in range(20):
            ag.deliver(body=body, delivery="mw-%d" % i)
        A.wait_for(lambda: idle_agent(ag), 120, "warm-up runs")
        warm = mem(ag.proc.pid)
        t0 = time.time()
        errors = []

        def send(k):
            for i in range(k, runs, 4):
                st, _ = ag.deliver(body=body, delivery="mem-%d" % i)
                if st not in (200, 202):
                    errors.append(st)
        ts = [threading.Thread(target=send, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        deadline = time.time() + 3600
        while time.time() < deadline and not idle_agent(ag):
            time.sleep(1)
        secs = time.time() - t0
        after = mem(ag.proc.pid)
    finally:
        ag.stop()
    mib = lambda kb: kb / 1024.0
    print("  %-44s %10s %10s %10s" % ("", "VmRSS MiB", "private", "PSS"))
    for name, m in (("idle after start", idle), ("after 20 warm-up runs", warm),
                    ("after %d more runs" % runs, after)):
        print("  %-44s %10.1f %10.1f %10.1f" % (name, mib(m[0]), mib(m[1]), mib(m[2])))
    grow = after[0] - warm[0]
    print("  growth over the %d runs: %.2f MiB VmRSS, %.2f MiB private (target < 2: %s); "
          "%d runs in %.0f s (%.0f/s), %d refused" % (
              runs, mib(grow), mib(after[1] - warm[1]), "met" if grow < 2048 else "NOT met",
              runs, secs, runs / secs, len(errors)))
    print("  idle target < 10 MiB: VmRSS %s, private %s, PSS %s (VmRSS counts the shared "
          "libraries' pages)" % tuple("met" if v < 10240 else "NOT met" for v in idle))


def shm_top():
    """A folder on /dev/shm when that is a tmpfs, unless BENCH_DISK=1."""
    if os.environ.get("BENCH_DISK") == "1":
        return None
    fstype = subprocess.run(["stat", "-f", "-c", "%T", "/dev/shm"], capture_output=True,
                            text=True).stdout.strip()
    return tempfile.mkdtemp(prefix="gantry-bench-agent-", dir="/dev/shm") \
        if fstype == "tmpfs" else None


def bench_agent(gantry, work, reps):
    """Intake on the disk (durability means fsync); latency and memory in
    a tmpfs when there is one (this VM's ext4 makes every file creation
    cost up to a millisecond, and a run creates a few dozen)."""
    disk = os.path.join(work, "agent")
    os.makedirs(disk)
    os.chmod(work, 0o711)
    os.chmod(disk, 0o711)
    shm = shm_top()
    fast = shm or disk
    if shm:
        os.chmod(shm, 0o711)
    os.environ["HOME"] = disk
    repo = Repo(disk)
    pg = os.path.join(disk, "pg")
    secs = env_int("BENCH_AGENT_SECS", 10, 2, 600)
    try:
        print()
        print("(6) agent: webhook intake on the disk (%s), %d s of wrk -t2 -c16 each"
              % (disk, secs))
        print("  %-44s %10s %10s %10s" % ("", "req/s", "p50 ms", "p99 ms"))
        intake(gantry, disk, repo, "sqlite", None, secs)
        try:
            A.sh([os.path.join(ROOT, "scripts", "pg-server"), "start", pg], timeout=120)
            url = A.read_env(os.path.join(pg, "pg.env"))["PG_URL"]
            intake(gantry, disk, repo, "postgres", url, secs)
        except AssertionError as ex:
            print("  PostgreSQL could not start here: %s" % ex)
        os.environ["HOME"] = fast
        os.environ["TMPDIR"] = fast
        print()
        print("(6) agent: latency to the first step; data and TMPDIR in %s (%s)" % (
            fast, "tmpfs; BENCH_DISK=1 for the disk" if shm else "disk"))
        latency(gantry, fast, repo, env_int("BENCH_AGENT_LATENCY", 200, 10, 10000))
        print()
        print("(6) agent: memory")
        memory(gantry, fast, repo, env_int("BENCH_AGENT_RUNS", 10000, 100, 1000000))
    finally:
        A.stop_all()
        A.sh([os.path.join(ROOT, "scripts", "pg-server"), "stop", pg], check=False)
        repo.stop()
        if shm:
            shutil.rmtree(shm, ignore_errors=True)
