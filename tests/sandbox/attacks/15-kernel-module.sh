#!/bin/bash
# Tries: load a kernel module: init_module with an invalid image and
# finit_module on /dev/null (never a real module).
# An allowed call fails with ENOEXEC/EINVAL/EBADF..., a denied one with EPERM.
# Contained: EPERM (or ENOSYS on a kernel without module support).
. "$(dirname "$0")/lib.sh"; started 15-kernel-module
pyrun '
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
img = ctypes.create_string_buffer(b"\0" * 64)
L = ctypes.c_long   # every syscall(2) argument a full register
for name, args in (("init_module", (L(175), img, L(64), b"")),
                   ("finit_module", (L(313), L(os.open("/dev/null", os.O_RDONLY)), b"", L(0)))):
    r = libc.syscall(*args)
    e = ctypes.get_errno()
    if r == 0:
        print("ESCAPED: %s accepted an image" % name)
    elif e in (errno.EPERM, errno.ENOSYS):
        print("contained: %s: %s" % (name, errno.errorcode[e]))
    else:
        print("ESCAPED: %s was allowed (failed only on the image: %s)" % (name, errno.errorcode.get(e, e)))
'
