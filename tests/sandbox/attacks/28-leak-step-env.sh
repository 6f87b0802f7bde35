#!/bin/bash
# Tries: read the environment secret of another step: step 1 has env
# LEAK=<canary> (set by the driver) and leaves a detached process behind
# (setsid); step 2 searches /proc/*/environ and /proc/*/cmdline for LEAK=
# and prints what it finds, and checks its own environment.
# Contained: nothing found; the driver checks the canary is nowhere in
# the output.
# workflow: two-steps
. "$(dirname "$0")/lib.sh"; started "28-leak-step-env $1"
if [ "$1" = 1 ]; then
	setsid -f bash -c "(exec -a gantry-escape-$MARKER sleep 1000) & disown; exit 0" </dev/null >/dev/null 2>&1
	sleep 0.3
	exit 0
fi
[ -n "${LEAK:-}" ] && escaped "step 2 inherited LEAK=$LEAK"
n=0
for d in /proc/[0-9]*; do
	n=$((n + 1)); [ "$n" -gt 100000 ] && break
	[ "${d#/proc/}" = $$ ] && continue
	v=$(tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -a '^LEAK=' | head -1)
	[ -n "$v" ] && escaped "found step 1's $v in $d/environ"
	c=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
	case "$c" in *LEAK=*) escaped "found LEAK= in $d/cmdline: $c" ;; esac
done
[ "$ESCAPES" = 0 ] && contained "step 1's environment is nowhere to be read"
