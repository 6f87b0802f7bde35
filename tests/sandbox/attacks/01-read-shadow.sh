#!/bin/bash
# Tries: read /etc/shadow and /etc/gshadow (password hashes).
# Contained: both are missing, empty or unreadable in the step.
. "$(dirname "$0")/lib.sh"; started 01-read-shadow
for f in /etc/shadow /etc/gshadow; do
	if n=$(timeout 5 grep -c . "$f" 2>/dev/null) && [ "${n:-0}" -gt 0 ]; then
		escaped "read $f ($n lines)"
	else
		contained "$f is hidden or unreadable"
	fi
done
