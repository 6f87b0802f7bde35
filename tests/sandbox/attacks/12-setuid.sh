#!/bin/bash
# Tries: a setuid-root binary (the driver makes ws/suid-grep, a setuid-root
# copy of grep, before the run) to gain capabilities.
# Contained: CapEff of the setuid process is 0 (nosuid workspace,
# no_new_privs, no capabilities).
# prepare: suid-grep
. "$(dirname "$0")/lib.sh"; started 12-setuid
if [ ! -u "$WS/suid-grep" ]; then
	echo "cannot-run: $WS/suid-grep is missing or not setuid"
	exit 0
fi
cd "$WS" || exit 0
line=$(./suid-grep -E 'CapEff|Uid' /proc/self/status 2>&1)
eff=$(echo "$line" | awk '/CapEff/{print $2}')
echo "$line" | tr '\n' ' '; echo
if [ -n "$eff" ] && [ "$eff" != 0000000000000000 ]; then
	escaped "setuid binary runs with CapEff=$eff"
else
	contained "setuid binary has CapEff=${eff:-?}"
fi
