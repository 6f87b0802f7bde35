# Helpers sourced by every attack script (tests/sandbox/attacks/NN-name.sh).
# The driver (tests/sandbox/run) copies this file next to the attack into
# the workspace. An attack prints "ESCAPED: what happened" for every
# attempt that worked and "contained: why" for every attempt that failed;
# the driver counts the attack as contained only when no ESCAPED line
# appears and its own post-checks pass.
#
# Environment given by the driver's workflow: MARKER (unique per attack),
# HOST_HOME (the HOME gantry runs with), DRIVER_PID, HOST_CANARY_PID (a
# host process named gantry-hostcanary-$MARKER), CANARY_PORT (a TCP
# listener on the host's 127.0.0.1), VICTIM_GLOB (the other job's folders).

ESCAPES=0
escaped() { echo "ESCAPED: $*"; ESCAPES=$((ESCAPES + 1)); }
contained() { echo "contained: $*"; }
started() { echo "attack-started: $1"; }

# A real python3, not a pyenv shim (shims need the user's HOME).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)

WS=${GITHUB_WORKSPACE:-$PWD}
SCRATCH=${RUNNER_TEMP:-/tmp}

# Run a python snippet with arguments, bounded to 30 s.
pyrun() {
	local code=$1
	shift
	timeout 30 "$PY" -c "$code" "$@"
}
