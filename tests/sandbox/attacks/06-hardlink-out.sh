#!/bin/bash
# Tries: a hard link in the workspace to /etc/shadow and to a host binary
# (a hard link survives the sandbox and keeps the inode writable/readable).
# Contained: ln fails (EXDEV across mounts, EPERM, ENOENT when hidden).
. "$(dirname "$0")/lib.sh"; started 06-hardlink-out
for f in /etc/shadow /etc/passwd /usr/bin/env; do
	l=$WS/hardlink-$(basename "$f")
	if ln "$f" "$l" 2>/dev/null; then
		rm -f "$l"
		escaped "hard-linked $f into the workspace"
	else
		contained "ln $f failed"
	fi
done
