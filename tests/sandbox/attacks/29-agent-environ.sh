#!/bin/bash
# Tries: read the runner's own environment: /proc/1/environ, then every
# /proc/*/environ, looking for GANTRY_CANARY (set by the driver in
# gantry's environment, never passed to steps).
# Contained: not found; the driver checks the canary value is nowhere in
# the output.
. "$(dirname "$0")/lib.sh"; started 29-agent-environ
[ -n "${GANTRY_CANARY:-}" ] && escaped "the step's own environment holds GANTRY_CANARY=$GANTRY_CANARY"
v=$(tr '\0' '\n' </proc/1/environ 2>/dev/null | grep -a '^GANTRY_CANARY=')
if [ -n "$v" ]; then escaped "/proc/1/environ holds $v"; else contained "/proc/1/environ has no GANTRY_CANARY"; fi
n=0
for d in /proc/[0-9]*; do
	n=$((n + 1)); [ "$n" -gt 100000 ] && break
	v=$(tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -a '^GANTRY_CANARY=' | head -1)
	[ -n "$v" ] && escaped "$d/environ holds $v ($(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | head -c 80))"
done
[ "$ESCAPES" = 0 ] && contained "GANTRY_CANARY is in no visible process"
