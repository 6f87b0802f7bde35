#!/bin/bash
# Tries: signal processes outside the job: kill -0 every visible process
# that is not the step's own (not a descendant of the step's shell and not
# the namespace's init) and the host PIDs the driver names; SIGTERM the
# host canary process (gantry-hostcanary-$MARKER, harmless to kill).
# Contained: no such process can be signalled. Post-check (driver): the
# host canary is still alive.
. "$(dirname "$0")/lib.sh"; started 08-signal-host
mine=" $$ "
# collect the step's own processes: children of $$ recursively
for _ in 1 2 3 4 5 6; do
	for d in /proc/[0-9]*; do
		pp=$(awk '/^PPid:/{print $2}' "$d/status" 2>/dev/null)
		case "$mine" in *" $pp "*) case "$mine" in *" ${d#/proc/} "*) ;; *) mine="$mine${d#/proc/} " ;; esac ;; esac
	done
done
# ancestors of the step's shell up to the sandbox's init are the runner
# (host gantry without a sandbox): those count as outside the job
p=$PPID
for _ in $(seq 1 20); do
	[ "$p" -le 1 ] 2>/dev/null && break
	c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
	case "$c" in
	*summary-$MARKER.json*) kill -0 "$p" 2>/dev/null && escaped "can signal the gantry process $p ($c)" ;;
	esac
	p=$(awk '/^PPid:/{print $2}' "/proc/$p/status" 2>/dev/null)
	[ -n "$p" ] || break
done
n=0
for d in /proc/[0-9]*; do
	pid=${d#/proc/}
	n=$((n + 1)); [ "$n" -gt 100000 ] && break
	[ "$pid" = 1 ] && continue
	case "$mine" in *" $pid "*) continue ;; esac
	c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
	case "$c" in *gantry-hostcanary-*|*summary-$MARKER.json*|*tests/sandbox/run*|*systemd*|*init*|*sshd*)
		kill -0 "$pid" 2>/dev/null && escaped "can signal host process $pid ($c)" ;;
	esac
done
for p in "$DRIVER_PID" "$HOST_CANARY_PID"; do
	if kill -0 "$p" 2>/dev/null; then
		c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		case "$c" in
		*gantry-hostcanary-*|*tests/sandbox/run*|"") escaped "kill -0 $p works on the host's process (${c:-cmdline hidden})" ;;
		esac
	fi
done
c=$(tr '\0' ' ' <"/proc/$HOST_CANARY_PID/cmdline" 2>/dev/null)
case "$c" in *gantry-hostcanary-$MARKER*)
	kill -TERM "$HOST_CANARY_PID" 2>/dev/null && escaped "killed the host canary process $HOST_CANARY_PID" ;;
esac
[ "$ESCAPES" = 0 ] && contained "no process outside the job can be signalled"
