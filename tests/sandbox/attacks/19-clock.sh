#!/bin/bash
# Tries: set the clock: clock_settime(CLOCK_REALTIME) and settimeofday(2)
# to the current time read just before (harmless when it works; date -s
# is not used, it would round to the second).
# Contained: EPERM. Post-check (driver): the host clock is within 60 s of
# the driver's monotonic reckoning.
. "$(dirname "$0")/lib.sh"; started 19-clock
pyrun '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]
class timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]
ts = timespec()
libc.clock_gettime(0, ctypes.byref(ts))
if libc.clock_settime(0, ctypes.byref(ts)) == 0:
    print("ESCAPED: clock_settime(CLOCK_REALTIME, now) worked")
else:
    print("contained: clock_settime: %s" % os.strerror(ctypes.get_errno()))
tv = timeval()
libc.gettimeofday(ctypes.byref(tv), None)
if libc.settimeofday(ctypes.byref(tv), None) == 0:
    print("ESCAPED: settimeofday(now) worked")
else:
    print("contained: settimeofday: %s" % os.strerror(ctypes.get_errno()))
'
