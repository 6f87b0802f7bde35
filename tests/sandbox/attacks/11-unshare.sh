#!/bin/bash
# Tries: regain capabilities in new namespaces: unshare -r (user namespace,
# mapped root), unshare -U, unshare -m, unshare -n, and setns(2) into the
# mount namespace of PID 1.
# Contained: every call fails (seccomp denies unshare/setns/clone with new
# namespaces; EPERM).
. "$(dirname "$0")/lib.sh"; started 11-unshare
for opt in -r -U -m -n -p; do
	extra=
	[ "$opt" = -p ] && extra=--fork
	if out=$(timeout 10 unshare $opt $extra sh -c 'grep CapEff /proc/self/status' 2>&1); then
		escaped "unshare $opt worked: $out"
	else
		contained "unshare $opt failed: $(echo "$out" | head -1)"
	fi
done
pyrun '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    fd = os.open("/proc/1/ns/mnt", os.O_RDONLY)
except OSError as e:
    print("contained: open /proc/1/ns/mnt: %s" % e.strerror)
else:
    if libc.setns(fd, 0) == 0:
        print("ESCAPED: setns into the mount namespace of PID 1 worked")
    else:
        print("contained: setns: %s" % os.strerror(ctypes.get_errno()))
CLONE_NEWUSER = 0x10000000
pid = os.fork()
if pid == 0:
    os._exit(0 if libc.unshare(CLONE_NEWUSER) == 0 else 1)
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) == 0:
    print("ESCAPED: unshare(CLONE_NEWUSER) worked")
else:
    print("contained: unshare(CLONE_NEWUSER) failed")
'
