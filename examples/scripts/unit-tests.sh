#!/bin/sh
# Stand-in for a project's unit tests (cargo test, make check): a few
# checks in plain sh, run once per matrix combination.
#   scripts/unit-tests.sh TARGET PROFILE
set -eu

target=${1:?usage: unit-tests.sh TARGET PROFILE}
profile=${2:?usage: unit-tests.sh TARGET PROFILE}
passed=0
failed=0

check() {
	name=$1
	shift
	if "$@"; then
		echo "test $name ... ok"
		passed=$((passed + 1))
	else
		echo "test $name ... FAILED"
		failed=$((failed + 1))
	fi
}

url_has_scheme() { case "https://api.example.com" in http://* | https://*) return 0 ;; esac; return 1; }
hash_is_stable() { [ "$(printf fdk | sha256sum | cut -c1-8)" = "$(printf fdk | sha256sum | cut -c1-8)" ]; }
target_is_known() { case "$target" in *-linux | wasm32-*) return 0 ;; esac; return 1; }
profile_is_known() { [ "$profile" = debug ] || [ "$profile" = release ]; }

echo "running 4 tests for $target ($profile)"
check config::url_has_scheme url_has_scheme
check bundle::hash_is_stable hash_is_stable
check build::target_is_known target_is_known
check build::profile_is_known profile_is_known
echo "test result: $([ "$failed" = 0 ] && echo ok || echo FAILED). $passed passed; $failed failed"
[ "$failed" = 0 ]
