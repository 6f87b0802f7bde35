#!/bin/sh
# Stand-in for `trunk build --release`, which is not installed here. Like
# trunk it reads index.html in the current folder and writes dist/: the
# page and the hashed .js and .wasm files it loads. FDK_SERVER_URL is baked
# into the build, as the app's option_env!("FDK_SERVER_URL") does.
#   FDK_SERVER_URL=https://api.example.com trunk-build.sh build --release
set -eu

[ "${1:-}" = build ] || { echo "usage: trunk build [--release]" >&2; exit 2; }
shift
profile=debug
for arg in "$@"; do
	case "$arg" in
	--release) profile=release ;;
	*) echo "trunk: unknown option $arg" >&2; exit 2 ;;
	esac
done

# like trunk, work on the project in the current folder
root=$(pwd)
[ -f "$root/index.html" ] || { echo "trunk: no index.html in $root" >&2; exit 1; }
dist="$root/dist"
url=${FDK_SERVER_URL:-}
if [ -z "$url" ]; then
	echo "::warning title=trunk::FDK_SERVER_URL is empty; using http://localhost:8080 (pass --var SERVER_URL=...)"
	url=http://localhost:8080
fi

echo "   Compiling fdk v0.1.0 (wasm32-unknown-unknown, $profile)"
rm -rf "$dist"
mkdir -p "$dist"
# A stand-in module: the wasm magic and version, then the URL as data.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '\000asm\001\000\000\000' > "$work/fdk_bg.wasm"
printf '%s' "$url" >> "$work/fdk_bg.wasm"
printf 'export default async function init(p) { await fetch(p); }\n' > "$work/fdk.js"
hash=$(cat "$work/fdk_bg.wasm" "$work/fdk.js" | sha256sum | cut -c1-16)
wasm="fdk-${hash}_bg.wasm"
js="fdk-${hash}.js"
cp "$work/fdk_bg.wasm" "$dist/$wasm"
cp "$work/fdk.js" "$dist/$js"
url_sed=$(printf '%s' "$url" | sed 's/[&|\\]/\\&/g')
sed -e "s|@FDK_SERVER_URL@|$url_sed|" -e "s|@JS@|$js|" -e "s|@WASM@|$wasm|" \
	"$root/index.html" > "$dist/index.html"
echo "    Finished $profile build: dist/index.html, dist/$js, dist/$wasm"
