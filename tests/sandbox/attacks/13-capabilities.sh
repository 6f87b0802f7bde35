#!/bin/bash
# Tries: use the capabilities the step holds (uid 0 or not): any non-zero
# CapEff/CapPrm/CapAmb in /proc/self/status, and no_new_privs unset.
# Contained: all zero and NoNewPrivs: 1.
. "$(dirname "$0")/lib.sh"; started 13-capabilities
grep -E '^(Uid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr '\t' ' '
for k in CapPrm CapEff CapAmb; do
	v=$(awk -v k="$k:" '$1 == k {print $2}' /proc/self/status)
	if [ "$v" != 0000000000000000 ]; then
		escaped "the step holds $k=$v"
	else
		contained "$k is 0"
	fi
done
nnp=$(awk '$1 == "NoNewPrivs:" {print $2}' /proc/self/status)
if [ "$nnp" = 1 ]; then contained "no_new_privs set"; else escaped "no_new_privs not set"; fi
