#!/bin/bash
# Tries: read and write another job's folders. Two jobs run in parallel
# (--jobs 2): "victim" writes a secret into its RUNNER_TEMP and waits;
# "intruder" searches the whole file system for it and tries to write
# into the victim's RUNNER_TEMP/RUNNER_WORKSPACE (the driver gives the
# path pattern in VICTIM_GLOB).
# Contained: the intruder neither finds nor writes; the victim sees no
# intruder file. Post-check (driver, --keep-temp): no file named
# gantry-escape-$MARKER-intruder anywhere in the run's folders, and the
# victim's secret appears nowhere in the output.
# gantry: --jobs 2 --keep-temp
# workflow: two-jobs
. "$(dirname "$0")/lib.sh"; started "04-other-job $1"
if [ "$1" = victim ]; then
	echo "$VICTIM_SECRET" >"$RUNNER_TEMP/gantry-victim-$MARKER"
	echo "$VICTIM_SECRET" >"$RUNNER_WORKSPACE/gantry-victim-ws-$MARKER" 2>/dev/null
	for _ in $(seq 1 40); do
		for f in "$RUNNER_TEMP" "$RUNNER_WORKSPACE"; do
			if [ -e "$f/gantry-escape-$MARKER-intruder" ]; then
				escaped "the intruder job wrote into $f"
				exit 0
			fi
		done
		[ -e "$RUNNER_TEMP/done" ] && break
		sleep 0.5
	done
	contained "nothing written into the victim's folders"
	exit 0
fi
sleep 2	# let the victim start
for d in $VICTIM_GLOB $VICTIM_GLOB/tmp; do
	[ -d "$d" ] || continue
	if (echo x >"$d/gantry-escape-$MARKER-intruder") 2>/dev/null; then
		escaped "wrote into the other job's folder $d"
	fi
	ls "$d" >/dev/null 2>&1 && escaped "listed the other job's folder $d"
done
found=$(timeout 40 find / -maxdepth 12 \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
	-name "gantry-victim*-$MARKER" -print 2>/dev/null | head -5)
for f in $found; do
	escaped "found the other job's file $f: $(head -c 100 "$f" 2>/dev/null)"
done
[ "$ESCAPES" = 0 ] && contained "the other job's folders are not visible"
