#!/bin/bash
# Tries: write /proc/sys (kernel/hostname, vm/swappiness), each with the
# value it already has (harmless when it works).
# Contained: EROFS/EACCES/EPERM (/proc/sys is read-only in the sandbox).
. "$(dirname "$0")/lib.sh"; started 16-proc-sys
for k in kernel/hostname vm/swappiness kernel/domainname; do
	f=/proc/sys/$k
	v=$(cat "$f" 2>/dev/null) || { contained "$f unreadable"; continue; }
	if (printf '%s\n' "$v" >"$f") 2>/dev/null; then
		escaped "wrote $f (same value $v)"
	else
		contained "cannot write $f"
	fi
done
