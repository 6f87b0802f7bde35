#!/bin/bash
# Tries: make gantry, which reads and empties the command files and writes
# the next step's script outside the sandbox with its own rights, follow a
# link: step 1 points GITHUB_OUTPUT at a file and the next step's script
# file at another (both in the workspace, so step 2 can look); if gantry
# followed them, the first would be emptied and the second overwritten.
# Contained: both files are intact in step 2 (gantry replaces the links
# and fails step 1 for tampering).
# workflow: two-steps
. "$(dirname "$0")/lib.sh"; started "35-command-file-links $1"
if [ "$1" = 1 ]; then
	echo keep-output > "$WS/victim-output.txt"
	echo keep-script > "$WS/victim-script.txt"
	ln -sf "$WS/victim-output.txt" "$GITHUB_OUTPUT"
	ln -sf "$WS/victim-script.txt" "$(dirname "$GITHUB_OUTPUT")/gantry-step.sh"
	contained "links made; step 2 checks the files"
	exit 0
fi
o=$(cat "$WS/victim-output.txt" 2>/dev/null)
s=$(cat "$WS/victim-script.txt" 2>/dev/null)
[ "$o" = keep-output ] && contained "GITHUB_OUTPUT's target intact" || escaped "gantry emptied the file GITHUB_OUTPUT pointed at (now: '$o')"
[ "$s" = keep-script ] && contained "script link's target intact" || escaped "gantry wrote the next script through a link (now: '$(echo "$s" | head -c 60)')"
