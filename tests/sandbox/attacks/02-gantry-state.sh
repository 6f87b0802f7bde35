#!/bin/bash
# Tries: read gantry's own state: the OIDC signing key, the agent
# configuration and database folders, ~/.ssh of the user running gantry
# (the driver plants canary values there), first at the known paths, then
# by searching the file system.
# Contained: nothing found; the driver also checks its canaries appear
# nowhere in the output (they would, as the attack prints what it reads).
. "$(dirname "$0")/lib.sh"; started 02-gantry-state
for f in "$HOST_HOME/.local/share/gantry/oidc/signing.key" \
	 "$HOST_HOME/.config/gantry/agent.yml" \
	 "$HOST_HOME/.ssh/id_ed25519" \
	 "$HOME/.local/share/gantry/oidc/signing.key" \
	 "$HOME/.config/gantry/agent.yml"; do
	if [ -r "$f" ] && c=$(head -c 200 "$f" 2>/dev/null) && [ -n "$c" ]; then
		escaped "read $f: $c"
	fi
done
for d in "$HOST_HOME/.local/share/gantry" "$HOST_HOME/.config/gantry" "$HOST_HOME/.ssh"; do
	if l=$(ls -A "$d" 2>/dev/null) && [ -n "$l" ]; then
		escaped "listed $d: $(echo $l)"
	fi
done
found=$(timeout 30 find / -maxdepth 10 \( -path /proc -o -path /sys \) -prune -o \
	\( -name signing.key -o -name agent.yml -o -name 'gantry*.db' \) -print 2>/dev/null | head -20)
for f in $found; do
	case "$f" in "$WS"/*) continue ;; esac
	if c=$(head -c 200 "$f" 2>/dev/null) && [ -n "$c" ]; then
		escaped "found and read $f: $c"
	fi
done
[ "$ESCAPES" = 0 ] && contained "gantry's state is not visible"
