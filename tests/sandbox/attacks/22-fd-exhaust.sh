#!/bin/bash
# Tries: exhaust file descriptors: raise RLIMIT_NOFILE above its hard
# limit (in a child), then open /dev/null until EMFILE (bounded at
# 1,000,000).
# Contained: raising above the hard limit fails (EPERM) and the opens stop
# below 1,000,000.
. "$(dirname "$0")/lib.sh"; started 22-fd-exhaust
pyrun '
import os, resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
print("RLIMIT_NOFILE soft %d hard %d" % (soft, hard))
pid = os.fork()
if pid == 0:
    want = hard + 1 if hard != resource.RLIM_INFINITY else 1 << 20
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        os._exit(0)
    except (ValueError, OSError):
        os._exit(1)
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) == 0:
    print("ESCAPED: raised RLIMIT_NOFILE above its hard limit %d" % hard)
else:
    print("contained: cannot raise RLIMIT_NOFILE above %d" % hard)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
except (ValueError, OSError):
    pass
fds = []
err = None
while len(fds) < 1000000:
    try:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        err = e.strerror
        break
n = len(fds)
for fd in fds:
    os.close(fd)
if n >= 1000000:
    print("ESCAPED: opened 1,000,000 file descriptors")
else:
    print("contained: opens stopped at %d (%s)" % (n, err))
'
