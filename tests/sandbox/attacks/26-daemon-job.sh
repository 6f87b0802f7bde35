#!/bin/bash
# Tries: a double-forked daemon (setsid, fork, parent exits) that outlives
# the step and the job; it is named gantry-escape-$MARKER.
# Contained: gone after the step (a later step checks) and after the job.
# Post-check (driver): no host process carries the marker after gantry
# exits.
# workflow: two-steps
. "$(dirname "$0")/lib.sh"; started "26-daemon-job $1"
if [ "$1" = 1 ]; then
	setsid -f bash -c "trap '' HUP TERM; (exec -a gantry-escape-$MARKER sleep 1000) & disown; exit 0" </dev/null >/dev/null 2>&1
	sleep 0.5
	pgrep -f "gantry-escape-$MARKER" >/dev/null && echo "started the daemon"
	exit 0
fi
sleep 0.5
if p=$(pgrep -f "gantry-escape-$MARKER"); then
	escaped "the daemon of step 1 is still running (pid $(echo $p))"
else
	contained "the daemon of step 1 is gone"
fi
