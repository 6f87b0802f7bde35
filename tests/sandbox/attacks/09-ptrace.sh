#!/bin/bash
# Tries: ptrace a sibling (PTRACE_ATTACH on a sleep child, PTRACE_SEIZE on
# the step's shell) and process_vm_readv on it.
# Contained: EPERM (seccomp denies ptrace and process_vm_*).
. "$(dirname "$0")/lib.sh"; started 09-ptrace
sleep 20 &
child=$!
pyrun '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SEIZE = 16, 17, 0x4206
for what, req, pid in (("sibling sleep", PTRACE_ATTACH, int(sys.argv[1])),
                       ("the step shell", PTRACE_SEIZE, int(sys.argv[2]))):
    r = libc.ptrace(req, pid, None, None)
    if r == 0:
        print("ESCAPED: ptrace attach to %s %d worked" % (what, pid))
        if req == PTRACE_ATTACH:
            os.waitpid(pid, 0)
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    else:
        print("contained: ptrace %s: %s" % (what, os.strerror(ctypes.get_errno())))
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
buf = ctypes.create_string_buffer(8)
local = iovec(ctypes.cast(buf, ctypes.c_void_p), 8)
# read 8 bytes at the address of our own buffer in the sibling (same
# layout not needed: any result other than EPERM/ESRCH/EFAULT shows access)
remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 8)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long   # every syscall(2) argument a full register
r = libc.syscall(L(310), L(int(sys.argv[1])), ctypes.byref(local), L(1), ctypes.byref(remote), L(1), L(0))
e = ctypes.get_errno()
if r >= 0 or e == 14:
    print("ESCAPED: process_vm_readv on the sibling was allowed (%s)" % (r if r >= 0 else "EFAULT"))
else:
    print("contained: process_vm_readv: %s" % os.strerror(e))
' "$child" "$$" "ignored"
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
