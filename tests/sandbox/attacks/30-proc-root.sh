#!/bin/bash
# Tries: write to the host's /etc and /usr through /proc/self/root and
# /proc/1/root (removes what it wrote at once), and read /etc/shadow
# through /proc/1/root.
# Contained: EROFS/EACCES/ENOENT. Post-check (driver): no
# gantry-escape-$MARKER file in /etc or /usr.
. "$(dirname "$0")/lib.sh"; started 30-proc-root
for r in /proc/self/root /proc/1/root; do
	for d in etc usr; do
		f=$r/$d/gantry-escape-$MARKER
		if (echo x >"$f") 2>/dev/null; then
			rm -f "$f"; escaped "wrote $f"
		else
			contained "cannot write $f"
		fi
	done
done
if n=$(grep -c . /proc/1/root/etc/shadow 2>/dev/null) && [ "${n:-0}" -gt 0 ]; then
	escaped "read /proc/1/root/etc/shadow ($n lines)"
fi
