#!/bin/bash
# Tries: under --network loopback, reach anything beyond the job's own
# loopback: any interface other than lo, and the driver's listener on the
# host's 127.0.0.1:$CANARY_PORT (a different network namespace). Never
# tries a non-loopback address.
# Contained: only lo exists (and is up), the connection fails.
# Post-check (driver): the listener saw no connection.
# gantry: --network loopback
# post-check: no-connect
. "$(dirname "$0")/lib.sh"; started 24-network-loopback
ifs=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')
echo "interfaces: $ifs"
for i in $ifs; do
	[ "$i" = lo ] || escaped "interface $i is visible under --network loopback"
done
flags=$(cat /sys/class/net/lo/flags 2>/dev/null)
if [ -z "$flags" ] || [ $((flags & 1)) = 0 ]; then
	echo "note: lo is not up under --network loopback (flags ${flags:-none}): a bug, not an escape"
fi
pyrun '
import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    data = s.recv(200).decode("utf-8", "replace").strip()
    print("ESCAPED: connected to the host listener 127.0.0.1:%s, it said %s" % (sys.argv[1], data))
except OSError as e:
    print("contained: connect to 127.0.0.1:%s: %s" % (sys.argv[1], e))
' "$CANARY_PORT"
