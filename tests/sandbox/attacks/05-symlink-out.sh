#!/bin/bash
# Tries: a symlink from the workspace to host files (/etc/shadow, gantry's
# signing key) and reading through it.
# Contained: the link can be made but reading through it fails or shows
# the sandbox's view only (file hidden).
. "$(dirname "$0")/lib.sh"; started 05-symlink-out
ln -sf /etc/shadow "$WS/link-shadow"
ln -sf "$HOST_HOME/.local/share/gantry/oidc/signing.key" "$WS/link-key"
if n=$(grep -c . "$WS/link-shadow" 2>/dev/null) && [ "${n:-0}" -gt 0 ]; then
	escaped "read /etc/shadow through a workspace symlink ($n lines)"
else
	contained "/etc/shadow unreadable through the symlink"
fi
if c=$(head -c 200 "$WS/link-key" 2>/dev/null) && [ -n "$c" ]; then
	escaped "read gantry's signing key through a symlink: $c"
else
	contained "signing key unreadable through the symlink"
fi
rm -f "$WS/link-shadow" "$WS/link-key"
