#!/usr/bin/env bash
# Prints the path of a Node.js 18 binary (Debian 12's nodejs 18.20.4), fetched with apt-get download and
# unpacked with dpkg -x under .node18/ (gitignored) on first use, so that the agent's real-process tests
# also run on the oldest Node the drain document accepts. Debian's node loads its built-in modules from
# /usr/share/nodejs, so that folder is copied there; the binary needs LD_LIBRARY_PATH set to the extracted
# libraries: run it through the wrapper this script writes (.node18/node). Fails loudly (exit 1, a message
# on stderr) when apt cannot fetch the packages: CI must never skip the Node 18 run silently.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.node18"
wrapper="$root/node"
version='18.20.4+dfsg-1~deb12u2'
if [ -x "$wrapper" ] && "$wrapper" -e 'process.exit(process.versions.node.startsWith("18.") ? 0 : 1)' 2>/dev/null; then
  echo "$wrapper"
  exit 0
fi
fail() { echo "scripts/node18.sh: $*" >&2; exit 1; }
command -v apt-get >/dev/null || fail "apt-get is missing: Node 18 comes from Debian 12's packages; run CI on Debian 12"
rm -rf "$root"
mkdir -p "$root/debs" "$root/root"
(
  cd "$root/debs"
  apt-get update -qq >&2 || fail "apt-get update failed (is the Debian mirror reachable?)"
  apt-get download -qq "nodejs=$version" libnode108 libc-ares2 node-acorn node-cjs-module-lexer node-undici node-xtend >&2 ||
    fail "apt-get download of nodejs=$version and its libraries failed"
)
for deb in "$root"/debs/*.deb; do dpkg -x "$deb" "$root/root"; done
[ -x "$root/root/usr/bin/node" ] || fail "the nodejs package held no usr/bin/node"
# Debian's node resolves its bundled modules (acorn, undici …) from /usr/share/nodejs.
mkdir -p /usr/share/nodejs
cp -a "$root/root/usr/share/nodejs/." /usr/share/nodejs/ || fail "cannot copy the packages' usr/share/nodejs to /usr/share/nodejs"
cat >"$wrapper" <<WRAPPER
#!/bin/sh
LD_LIBRARY_PATH="$root/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$root/root/usr/bin/node" "\$@"
WRAPPER
chmod 755 "$wrapper"
"$wrapper" -e 'if (!process.versions.node.startsWith("18.")) process.exit(1)' ||
  fail "$wrapper does not run as Node 18"
echo "$wrapper"
