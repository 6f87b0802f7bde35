#!/bin/bash
# Tries: a fork bomb, bounded so that it cannot hurt a host without a
# sandbox: 25 processes each grow a binary tree of depth 3 (375 processes
# in all, every one sleeping until a 20 s deadline), then all are killed.
# Escaped when 200 or more processes ran at once.
# Contained: fork fails (EAGAIN) well below that under --pids 64, or the
# step is killed; the step ends within its timeout-minutes: 1 and the host
# stays responsive (the driver times a trivial command afterwards).
# gantry: --pids 64
# timeout-minutes: 1
# killed-ok: yes
. "$(dirname "$0")/lib.sh"; started 20-fork-bomb
pyrun '
import os, signal, sys, time
TOP, DEPTH, ESCAPE_AT = 25, 3, 200
DEADLINE = time.monotonic() + 20
r, w = os.pipe()          # every process writes one byte when it lives
os.setpgid(0, 0)
errors = []
def child(depth):
    os.write(w, b"x")
    if depth < DEPTH:
        for _ in range(2):
            try:
                if os.fork() == 0:
                    child(depth + 1)
            except OSError as e:
                break
    while time.monotonic() < DEADLINE:
        time.sleep(1)
    os._exit(0)
for _ in range(TOP):
    if time.monotonic() >= DEADLINE:
        break
    try:
        pid = os.fork()
    except OSError as e:
        errors.append(e.strerror)
        break
    if pid == 0:
        child(0)
time.sleep(3)
os.set_blocking(r, False)
n = 0
for _ in range(10000):
    try:
        b = os.read(r, 65536)
    except BlockingIOError:
        break
    if not b:
        break
    n += len(b)
print("processes running: %d (fork error in the parent: %s)" % (n, errors[:1]))
if n >= ESCAPE_AT:
    print("ESCAPED: %d processes ran at once" % n)
else:
    print("contained: fork stopped after %d processes" % n)
sys.stdout.flush()
os.killpg(0, signal.SIGKILL)
'
true
