"""The agent's processes, for tests/agent/run: gantry-agent, the binary
the agent runs as (its libraries, the gantry its runs use), and each
worker's run process started ahead (gantry run --standby).

run sets GANTRY, the gantry under test, before calling these."""
import os
import shutil
import signal
import subprocess

import agentlib as A

GANTRY = None


def maps_of(pid):
    """The file names of the libraries pid has mapped."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(l.split()[-1]) for l in f if "/" in l}


def t_lean(env, ag):
    """gantry agent is gantry-agent: without libcurl, libgit2, libpq, OpenSSL."""
    # the main agent has run workflows and posted commit statuses by now
    A.eq(os.path.basename(os.readlink("/proc/%d/exe" % ag.proc.pid)), "gantry-agent",
         "the agent's executable")
    heavy = [m for m in maps_of(ag.proc.pid)
             if m.split(".so")[0] in ("libcurl", "libgit2", "libpq", "libcrypto", "libssl",
                                      "libarchive", "libssh2", "libmbedtls")]
    A.eq(heavy, [], "libraries the agent has mapped")
    kids = subprocess.run(["pgrep", "-P", str(ag.proc.pid)], capture_output=True,
                          text=True).stdout.split()
    exes = set()
    for k in kids:
        try:
            exes.add(os.readlink("/proc/%s/exe" % k))
        except OSError:
            pass
    A.check(exes and exes <= {os.path.realpath(GANTRY)},
            "its runs' gantry is the gantry beside it: %s" % exes)


def t_lean_renamed(env, top):
    """gantry installed under another name: gantry-agent runs workflows with it."""
    d = os.path.join(top, "lean-bin")
    os.makedirs(d)
    exe = os.path.join(d, "gantry-1")
    shutil.copy2(GANTRY, exe)
    shutil.copy2(os.path.join(os.path.dirname(GANTRY), "gantry-agent"),
                 os.path.join(d, "gantry-agent"))
    ag = A.Agent(exe, top, "renamed", {})
    try:
        A.eq(os.path.basename(os.readlink("/proc/%d/exe" % ag.proc.pid)), "gantry-agent",
             "the agent's executable")
        A.wait_for(lambda: len(standbys(ag)) == 2, 30, "a waiting run process for each worker")
        exes = {os.readlink("/proc/%d/exe" % p) for p in standbys(ag)}
        A.eq(exes, {exe}, "the gantry of the runs")
        envs = [e for _, envv in standbys(ag).values() for e in envv
                if e.startswith("GANTRY_RUN_EXE=")]
        A.eq(envs, [], "GANTRY_RUN_EXE passed on to the runs")
        ag.stop()
        A.eq(ag.proc.returncode, 0, "exit status after SIGTERM")
        ag.check_stderr()
    finally:
        ag.stop()


def standbys(ag):
    """The agent's waiting run processes: {pid: (argv, environment)}."""
    out = {}
    kids = subprocess.run(["pgrep", "-P", str(ag.proc.pid)], capture_output=True,
                          text=True).stdout.split()
    for k in kids:
        try:
            with open("/proc/%s/cmdline" % k, "rb") as f:
                argv = [a.decode() for a in f.read().split(b"\0") if a]
            with open("/proc/%s/environ" % k, "rb") as f:
                envv = [e.decode(errors="replace") for e in f.read().split(b"\0") if e]
        except OSError:
            continue
        if "--standby=3" in argv:
            out[int(k)] = (argv, envv)
    return out


def t_prestart(env, top):
    """Each worker's next gantry run waits ahead, gets the run, is replaced."""
    cfg = os.path.join(top, "prestart.yml")
    A.write(cfg, "workers:\n  memory: 1G\n")
    # a copy of gantry of its own, to upgrade in place below
    exe = os.path.join(top, "prestart-gantry")
    shutil.copy2(GANTRY, exe)
    ag = A.Agent(exe, top, "prestart", {}, config=cfg)
    # no gantry-agent beside this copy: the agent runs in gantry itself
    A.eq(os.readlink("/proc/%d/exe" % ag.proc.pid), os.path.realpath(exe),
         "the agent's executable without gantry-agent beside gantry")
    dispatch = {"repo": "acme/app", "clone_url": env.clone_url, "ref": "main",
                "workflow": "dispatch.yml", "inputs": {"who": "standby", "secs": "0"}}

    def run_one(what):
        st, b = ag.api("POST", "/runs", dispatch)
        run = ag.wait_run(b["run_id"])
        A.eq(run["status"], "success", what)
        A.check("dispatched by standby run %d" % b["run_id"] in ag.logs(b["run_id"]),
                "%s: the run's arguments reached it" % what)

    def two_waiting():
        return len(standbys(ag)) == 2
    try:
        A.wait_for(two_waiting, 30, "a waiting run process for each worker")
        first = standbys(ag)
        for argv, envv in first.values():
            A.check("--memory=1G" in argv, "made with the configuration: %s" % argv)
            A.eq([e for e in envv if "__" in e.split("=")[0] or e.startswith("GITHUB_TOKEN=")
                  or A.SECRET in e or A.GIT_TOKEN in e or A.API_TOKEN in e], [],
                 "secrets in a waiting run process's environment")
        run_one("a run handed to a waiting process")
        A.wait_for(two_waiting, 30, "the used one replaced")
        A.eq(len(set(first) & set(standbys(ag))), 1, "one used, one still waiting")
        # one dies while waiting: replaced, and the runs go on
        victim = sorted(standbys(ag))[0]
        os.kill(victim, signal.SIGKILL)
        A.wait_for(lambda: two_waiting() and victim not in standbys(ag), 30,
                   "the killed one replaced")
        run_one("a run after a waiting process died")
        # SIGHUP with other settings: the waiting ones are made again
        A.write(cfg, "workers:\n  memory: 2G\n")
        ag.proc.send_signal(signal.SIGHUP)
        A.wait_for(lambda: two_waiting() and all("--memory=2G" in a for a, _ in
                                                 standbys(ag).values()), 30,
                   "waiting processes with the reloaded settings")
        run_one("a run after the reload")
        # gantry upgraded in place (a new file at the same path): the
        # waiting ones, started from the old file, are made again
        old = set(standbys(ag))
        shutil.copy2(GANTRY, exe + ".new")
        os.replace(exe + ".new", exe)
        A.wait_for(lambda: two_waiting() and not old & set(standbys(ag)), 30,
                   "waiting processes of the upgraded gantry")
        run_one("a run after the upgrade")
        # a gantry that cannot be executed: the run fails and says why
        shutil.copy2(exe, exe + ".good")
        A.write(exe + ".new", "not a program\n", 0o644)
        os.replace(exe + ".new", exe)
        st, b = ag.api("POST", "/runs", dispatch)
        run = ag.wait_run(b["run_id"])
        A.check(run["status"] in ("failure", "error") and
                "cannot run %s" % os.path.realpath(exe) in (run.get("error") or ""),
                "a run when gantry cannot be executed: %s" % run)
        os.replace(exe + ".good", exe)
        A.wait_for(two_waiting, 30, "waiting processes once gantry can run again")
        run_one("a run once gantry can run again")
        A.write(cfg, "workers:\n  prestart: false\n")
        ag.proc.send_signal(signal.SIGHUP)
        A.wait_for(lambda: not standbys(ag), 30, "no waiting process with prestart off")
        run_one("a run with prestart off")
        A.eq(standbys(ag), {}, "none started after a run with prestart off")
        A.write(cfg, "workers:\n  count: 2\n")
        ag.proc.send_signal(signal.SIGHUP)
        A.wait_for(two_waiting, 30, "waiting processes again")
        left = list(standbys(ag))
        ag.stop()
        A.eq(ag.proc.returncode, 0, "exit status after SIGTERM")
        A.eq([p for p in left if os.path.exists("/proc/%d" % p)], [],
             "waiting processes left after the agent stopped")
        ag.check_stderr()
    finally:
        ag.stop()


def t_closed_fds(env, top):
    """Started with stdin and stderr closed: /dev/null takes their place."""
    ag = A.Agent(GANTRY, top, "closed-fds", {})
    ag.stop()
    # the same agent again, without descriptors 0 and 2 (closed by a
    # shell: no preexec_fn in a process with threads)
    ag.proc = subprocess.Popen(["sh", "-c", 'exec "$0" agent <&- 2>&-', GANTRY], env=ag.env,
                               stdout=subprocess.DEVNULL, start_new_session=True)
    with A._procs_lock:
        A._procs.append(ag.proc)
    try:
        A.wait_for(lambda: A.http("GET", ag.url + "/healthz", timeout=2)[0] == 200, 30,
                   "the agent to answer")
        for fd in (0, 2):
            A.eq(os.readlink("/proc/%d/fd/%d" % (ag.proc.pid, fd)), "/dev/null",
                 "the agent's descriptor %d" % fd)
        st, b = ag.api("POST", "/runs", {"repo": "acme/app", "clone_url": env.clone_url,
                                         "ref": "main", "workflow": "dispatch.yml",
                                         "inputs": {"who": "closed", "secs": "0"}})
        A.eq(ag.wait_run(b["run_id"])["status"], "success", "a run")
        for name in os.listdir(ag.data):
            path = os.path.join(ag.data, name)
            if name.endswith(".lock") and os.path.isfile(path):
                with open(path, "rb") as f:
                    A.check(b"gantry" not in f.read(), "log lines in %s" % name)
        ag.stop()
        A.eq(ag.proc.returncode, 0, "exit status after SIGTERM")
    finally:
        ag.stop()

