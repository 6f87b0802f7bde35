#!/bin/bash
# Tries: a background process that outlives its step: step 1 starts one
# (renamed gantry-escape-$MARKER, detached from stdout/stderr, nohup,
# disowned) and exits; step 2 of the same job looks for it with pgrep.
# Contained: step 2 does not find it. Post-check (driver): no host process
# carries the marker after the run.
# workflow: two-steps
. "$(dirname "$0")/lib.sh"; started "25-background-step $1"
if [ "$1" = 1 ]; then
	nohup bash -c "exec -a gantry-escape-$MARKER sleep 1000" </dev/null >/dev/null 2>&1 &
	disown
	sleep 0.3
	pgrep -f "gantry-escape-$MARKER" >/dev/null && echo "started the background process"
	exit 0
fi
sleep 0.5
if p=$(pgrep -f "gantry-escape-$MARKER"); then
	escaped "the background process of step 1 is still running (pid $(echo $p))"
else
	contained "the background process of step 1 is gone"
fi
