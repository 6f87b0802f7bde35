#!/bin/bash
# Tries: reach the network under --network none: connect to the driver's
# TCP listener on the host's 127.0.0.1:$CANARY_PORT (it answers with a
# canary line); check which interfaces exist and whether lo is up.
# Contained: /sys/class/net lists only lo, lo is down, the connection
# fails. Post-check (driver): the listener saw no connection.
# gantry: --network none
# post-check: no-connect
. "$(dirname "$0")/lib.sh"; started 23-network-none
ifs=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')
echo "interfaces: $ifs"
for i in $ifs; do
	[ "$i" = lo ] || escaped "interface $i is visible under --network none"
done
flags=$(cat /sys/class/net/lo/flags 2>/dev/null)
if [ -n "$flags" ] && [ $((flags & 1)) = 1 ]; then
	echo "note: lo is up under --network none (flags $flags)"
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
