#!/bin/bash
# Tries: chroot (the classic first step of a chroot escape) to / and to
# the workspace.
# Contained: EPERM.
. "$(dirname "$0")/lib.sh"; started 14-chroot
for d in / "$WS"; do
	if timeout 10 chroot "$d" /bin/true 2>/dev/null; then
		escaped "chroot $d worked"
	else
		contained "chroot $d failed"
	fi
done
pyrun '
import os
pid = os.fork()
if pid == 0:
    try:
        os.chroot("/")
        os._exit(0)
    except OSError:
        os._exit(1)
_, st = os.waitpid(pid, 0)
print("ESCAPED: chroot(2) worked" if os.waitstatus_to_exitcode(st) == 0 else "contained: chroot(2) failed")
'
