#!/bin/bash
# Tries: bpf(BPF_MAP_CREATE), perf_event_open (a software clock on the
# step itself), userfaultfd and io_uring_setup, the usual kernel attack
# surface.
# Contained: each fails with EPERM (seccomp) or ENOSYS.
. "$(dirname "$0")/lib.sh"; started 33-bpf-perf-uffd
pyrun '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def report(name, r):
    if r >= 0:
        os.close(r)
        print("ESCAPED: %s worked" % name)
    else:
        print("contained: %s: %s" % (name, os.strerror(ctypes.get_errno())))
attr = (ctypes.c_uint32 * 32)()
attr[0], attr[1], attr[2], attr[3] = 2, 4, 4, 1   # array map, key 4, value 4, 1 entry
L = ctypes.c_long   # every syscall(2) argument a full register
report("bpf(BPF_MAP_CREATE)", libc.syscall(L(321), L(0), ctypes.byref(attr), L(128)))
pe = (ctypes.c_uint8 * 128)()
ctypes.c_uint32.from_buffer(pe, 0).value = 1      # PERF_TYPE_SOFTWARE
ctypes.c_uint32.from_buffer(pe, 4).value = 128    # size
ctypes.c_uint64.from_buffer(pe, 8).value = 0      # PERF_COUNT_SW_CPU_CLOCK
ctypes.c_uint64.from_buffer(pe, 40).value = 1 | (1 << 5) | (1 << 6)  # disabled, exclude kernel, hv
report("perf_event_open", libc.syscall(L(298), ctypes.byref(pe), L(0), L(-1), L(-1), L(0)))
report("userfaultfd", libc.syscall(L(323), L(0o2000000 | 1)))   # O_CLOEXEC | UFFD_USER_MODE_ONLY
uring = (ctypes.c_uint8 * 120)()                  # struct io_uring_params, zeroed
report("io_uring_setup", libc.syscall(L(425), L(4), ctypes.byref(uring)))
'
