#!/bin/bash
# Tries: the kernel keyring (shared by every process of the uid: tokens of
# other jobs can live there): keyctl show @u if the tool exists, add_key
# into the process keyring and keyctl(KEYCTL_GET_KEYRING_ID, @u).
# Contained: EPERM (seccomp denies keyctl/add_key/request_key).
. "$(dirname "$0")/lib.sh"; started 32-keyctl
if command -v keyctl >/dev/null; then
	if out=$(timeout 10 keyctl show @u 2>&1); then
		escaped "keyctl show @u worked: $(echo "$out" | head -2 | tr '\n' ' ')"
	else
		contained "keyctl show @u failed"
	fi
fi
pyrun '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_USER_KEYRING = -2, -4
L = ctypes.c_long   # every syscall(2) argument a full register
r = libc.syscall(L(248), b"user", b"gantry-escape", b"x", L(1), L(KEY_SPEC_PROCESS_KEYRING))
if r >= 0:
    print("ESCAPED: add_key worked (key %d)" % r)
else:
    print("contained: add_key: %s" % os.strerror(ctypes.get_errno()))
r = libc.syscall(L(250), L(0), L(KEY_SPEC_USER_KEYRING), L(0))
if r >= 0:
    print("ESCAPED: keyctl(KEYCTL_GET_KEYRING_ID, @u) worked (%d)" % r)
else:
    print("contained: keyctl: %s" % os.strerror(ctypes.get_errno()))
'
