#!/bin/bash
# Tries: write a file into /usr (and /etc) of the host; removes it at once.
# Contained: EROFS/EACCES. Post-check (driver): /usr/gantry-escape-$MARKER
# and /etc/gantry-escape-$MARKER do not exist after the run.
. "$(dirname "$0")/lib.sh"; started 03-write-usr
for d in /usr /etc /usr/local/bin; do
	f=$d/gantry-escape-$MARKER
	if (echo x >"$f") 2>/dev/null; then
		rm -f "$f"
		escaped "wrote $f"
	else
		contained "cannot write $d"
	fi
done
