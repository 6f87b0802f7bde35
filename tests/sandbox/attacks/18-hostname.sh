#!/bin/bash
# Tries: change the hostname: sethostname(2) with the name the step sees
# already (harmless when it works) and setdomainname(2) likewise.
# Contained: EPERM. Post-check (driver): the host's hostname is unchanged.
. "$(dirname "$0")/lib.sh"; started 18-hostname
echo "hostname seen by the step: $(uname -n)"
[ "$(uname -n)" = gantry ] && echo "note: the UTS namespace is in place"
pyrun '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
u = os.uname()
name = u.nodename.encode()
if libc.sethostname(name, len(name)) == 0:
    print("ESCAPED: sethostname(%r) worked" % u.nodename)
else:
    print("contained: sethostname: %s" % os.strerror(ctypes.get_errno()))
buf = ctypes.create_string_buffer(256)
libc.getdomainname(buf, 256)
if libc.setdomainname(buf.value, len(buf.value)) == 0:
    print("ESCAPED: setdomainname(%r) worked" % buf.value)
else:
    print("contained: setdomainname: %s" % os.strerror(ctypes.get_errno()))
'
