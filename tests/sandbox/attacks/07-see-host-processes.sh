#!/bin/bash
# Tries: see processes outside the job in /proc: the driver, gantry itself
# (its command line holds summary-$MARKER.json) and a host canary process
# named gantry-hostcanary-$MARKER.
# Contained: /proc shows only the job's own processes.
. "$(dirname "$0")/lib.sh"; started 07-see-host-processes
n=0
for d in /proc/[0-9]*; do
	n=$((n + 1))
	[ "$n" -gt 100000 ] && break
	c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
	case "$c" in
	*gantry-hostcanary-$MARKER*) escaped "sees the host canary process ${d#/proc/}: $c" ;;
	*summary-$MARKER.json*) escaped "sees the gantry process ${d#/proc/}: $c" ;;
	*tests/sandbox/run*) escaped "sees the driver ${d#/proc/}: $c" ;;
	esac
done
for p in "$DRIVER_PID" "$HOST_CANARY_PID"; do
	c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
	case "$c" in
	*gantry-hostcanary-*|*tests/sandbox/run*) escaped "/proc/$p is the host's process: $c" ;;
	esac
done
echo "processes visible: $n"
[ "$ESCAPES" = 0 ] && contained "no host process visible ($n processes in /proc)"
