#!/bin/bash
# Tries: get a core dump (which would hold the memory of a process, e.g.
# secrets): ulimit -c unlimited, then SIGSEGV a child in the workspace.
# Contained: raising RLIMIT_CORE fails (hard limit 0) and no core file
# appears in the workspace.
. "$(dirname "$0")/lib.sh"; started 27-core-dump
echo "RLIMIT_CORE soft $(ulimit -Sc) hard $(ulimit -Hc)"
if (ulimit -c unlimited) 2>/dev/null; then
	escaped "ulimit -c unlimited worked"
else
	contained "cannot raise RLIMIT_CORE"
fi
d=$WS/core-$MARKER
mkdir -p "$d"
(
	cd "$d" || exit
	ulimit -c unlimited 2>/dev/null
	sleep 10 &
	kill -SEGV $!
	wait $! 2>/dev/null
)
sleep 0.5
cores=$(ls "$d" 2>/dev/null | head -3)
if [ -n "$cores" ]; then
	escaped "core file written: $(echo $cores)"
else
	contained "no core file (core_pattern $(cat /proc/sys/kernel/core_pattern 2>/dev/null))"
fi
rm -rf "$d"
