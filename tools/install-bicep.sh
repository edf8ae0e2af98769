#!/usr/bin/env bash
# Installs the pinned Bicep CLI and prints the path of its binary on stdout (progress goes to stderr).
#
# Bicep ships as the NuGet package Azure.Bicep.CommandLine.<rid>; CI and developer machines reach NuGet,
# so the binary comes from the configured NuGet source's flat container (NuGet v3 PackageBaseAddress),
# with `dotnet restore` of a PackageDownload as the fallback. The result is cached per user and version:
# a second run costs one `bicep --version`.
#
#   BICEP_VERSION      version to install (default: the pinned one below)
#   NUGET_SOURCE       NuGet v3 service index to use (default: first enabled `dotnet nuget` source, else nuget.org)
#   PGFLEX_TOOLS_CACHE cache folder (default: ${XDG_CACHE_HOME:-~/.cache}/pgflex-autoprotect)
set -euo pipefail

PINNED_VERSION="0.49.2"
# SHA-256 of Azure.Bicep.CommandLine.linux-x64.0.49.2.nupkg as NuGet serves it.
PINNED_SHA256_LINUX_X64="4200806a921d2ba1ea7de78ec2e064cefe313f26f612be442e5161452af70d9d"

version="${BICEP_VERSION:-$PINNED_VERSION}"
# The CLI is a self-contained .NET app: without ICU it runs in invariant globalization mode.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="${DOTNET_SYSTEM_GLOBALIZATION_INVARIANT:-1}"
case "$(uname -m)" in
  x86_64 | amd64) rid="linux-x64" ;;
  aarch64 | arm64) rid="linux-arm64" ;;
  *) echo "install-bicep: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
package="Azure.Bicep.CommandLine.$rid"
id="$(echo "$package" | tr '[:upper:]' '[:lower:]')"
cache="${PGFLEX_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgflex-autoprotect}/bicep/$version"
bin="$cache/bicep"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "Bicep CLI version $version "; then
  echo "$bin"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
nupkg="$tmp/$id.$version.nupkg"

nuget_source() {
  if [ -n "${NUGET_SOURCE:-}" ]; then echo "$NUGET_SOURCE"; return; fi
  local src=""
  if command -v dotnet >/dev/null 2>&1; then
    src="$(dotnet nuget list source --format short 2>/dev/null | awk '$1 == "E" && $2 ~ /^https:/ { print $2; exit }')"
  fi
  echo "${src:-https://api.nuget.org/v3/index.json}"
}

# PackageBaseAddress/3.0.0 from a service index, read with whichever JSON reader the machine has.
package_base_address() {
  local index="$1"
  if command -v node >/dev/null 2>&1; then
    node -e '
      const index = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const r = (index.resources || []).find((x) => String(x["@type"]).startsWith("PackageBaseAddress/3.0.0"));
      if (!r) process.exit(1);
      console.log(r["@id"].replace(/\/?$/, "/"));' <"$index"
  else
    python3 -c '
import json, sys
r = [x for x in json.load(sys.stdin).get("resources", []) if str(x.get("@type", "")).startswith("PackageBaseAddress/3.0.0")]
sys.exit(1) if not r else print(r[0]["@id"].rstrip("/") + "/")' <"$index"
  fi
}

download_flat_container() {
  local source base
  source="$(nuget_source)"
  echo "install-bicep: $package $version from $source" >&2
  curl -fsSL --retry 3 --connect-timeout 20 -o "$tmp/index.json" "$source" || return 1
  base="$(package_base_address "$tmp/index.json")" || return 1
  curl -fsSL --retry 3 --connect-timeout 20 -o "$nupkg" "$base$id/$version/$id.$version.nupkg" || return 1
}

# Fallback for feeds that need the NuGet client (credentials providers, mirrors without a flat container).
download_with_dotnet() {
  command -v dotnet >/dev/null 2>&1 || return 1
  echo "install-bicep: falling back to dotnet restore" >&2
  mkdir -p "$tmp/restore" "$tmp/packages"
  cat >"$tmp/restore/restore.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net$(dotnet --version | cut -d. -f1).0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="$package" Version="[$version]" /></ItemGroup>
</Project>
XML
  dotnet restore "$tmp/restore/restore.csproj" --packages "$tmp/packages" >&2 || return 1
  cp "$tmp/packages/$id/$version/$id.$version.nupkg" "$nupkg"
}

download_flat_container || download_with_dotnet || {
  echo "install-bicep: could not download $package $version from NuGet" >&2
  exit 1
}

if [ "$rid" = "linux-x64" ] && [ "$version" = "$PINNED_VERSION" ]; then
  actual="$(sha256sum "$nupkg" | cut -d' ' -f1)"
  if [ "$actual" != "$PINNED_SHA256_LINUX_X64" ]; then
    echo "install-bicep: $package $version has SHA-256 $actual, expected $PINNED_SHA256_LINUX_X64" >&2
    exit 1
  fi
else
  echo "install-bicep: no pinned checksum for $package $version; relying on NuGet's package signature" >&2
fi

# A .nupkg is a zip; the CLI is tools/bicep.
if command -v unzip >/dev/null 2>&1; then
  unzip -p "$nupkg" tools/bicep >"$tmp/bicep"
else
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("tools/bicep"))' "$nupkg" >"$tmp/bicep"
fi
chmod 0755 "$tmp/bicep"
"$tmp/bicep" --version >&2
mkdir -p "$cache"
mv -f "$tmp/bicep" "$bin.partial"
mv -f "$bin.partial" "$bin"
echo "$bin"
