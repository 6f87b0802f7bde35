#!/bin/bash
# Tries: use file descriptors the runner leaked into the step: any fd
# above 2 of the step's shell that is a directory (an openat/fchdir
# escape out of any mount namespace), a socket, or a file outside the
# workspace and temp folders; lists through a leaked directory fd.
# Contained: the step's shell holds only 0, 1, 2 (and bash's own fd on
# the script in the workspace).
. "$(dirname "$0")/lib.sh"; started 31-inherited-fds
ls -l /proc/$$/fd | sed 's/^/  /'
for f in /proc/$$/fd/*; do
	n=${f##*/}
	[ "$n" -le 2 ] 2>/dev/null && continue
	t=$(readlink "$f" 2>/dev/null)
	case "$t" in
	"$WS"/*|"$SCRATCH"/*|/dev/null|/dev/pts/*|/dev/tty) continue ;;
	/proc/$$/fd|/proc/*/fd) continue ;;	# the glob's own directory fd
	socket:*) escaped "inherited socket fd $n ($t)" ;;
	pipe:*) echo "note: inherited pipe fd $n ($t)" ;;
	*)
		if [ -d "$f" ]; then
			l=$(ls "$f/" 2>/dev/null | head -5 | tr '\n' ' ')
			escaped "inherited directory fd $n -> $t (lists: $l)"
		elif [ -e "$f" ]; then
			escaped "inherited fd $n on $t"
		fi ;;
	esac
done
[ "$ESCAPES" = 0 ] && contained "no leaked file descriptor"
