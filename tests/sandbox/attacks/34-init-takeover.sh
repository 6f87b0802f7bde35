#!/bin/bash
# Tries: take over the job's init (PID 1), which holds gantry's control
# socket: copy its descriptors with pidfd_getfd, read /proc/1/fd links and
# /proc/1/mem, compare descriptors with kcmp.
# Contained: every attempt fails (seccomp denies pidfd_getfd and kcmp; the
# init is not dumpable, so /proc/1/mem and /proc/1/fd are closed to the
# step even at the same uid).
. "$(dirname "$0")/lib.sh"; started 34-init-takeover
pyrun '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long
pfd = libc.syscall(L(434), L(1), L(0))          # pidfd_open(1, 0)
if pfd < 0:
    print("contained: pidfd_open(1): %s" % os.strerror(ctypes.get_errno()))
else:
    got = []
    for fd in range(0, 16):
        r = libc.syscall(L(438), L(pfd), L(fd), L(0))   # pidfd_getfd
        if r >= 0:
            got.append(fd)
            os.close(r)
    if got:
        print("ESCAPED: pidfd_getfd took descriptors %s of the init" % got)
    else:
        print("contained: pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
r = libc.syscall(L(312), L(1), L(os.getpid()), L(0), L(0), L(0))   # kcmp
if r >= 0:
    print("ESCAPED: kcmp on the init worked")
else:
    print("contained: kcmp: %s" % os.strerror(ctypes.get_errno()))
try:
    with open("/proc/1/mem", "rb") as f:
        f.seek(0x400000)
        f.read(16)
    print("ESCAPED: /proc/1/mem is readable")
except OSError as e:
    print("contained: /proc/1/mem: %s" % e.strerror)
try:
    links = [os.readlink("/proc/1/fd/" + n) for n in os.listdir("/proc/1/fd")]
    print("ESCAPED: the init'"'"'s descriptors are visible: %s" % links)
except OSError as e:
    print("contained: /proc/1/fd: %s" % e.strerror)
'
