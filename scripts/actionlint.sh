#!/usr/bin/env bash
# Build the pinned actionlint from the Go module proxy into a cache outside the repo and
# print the binary's path on stdout (the last line):
#
#   "$(bash scripts/actionlint.sh)" .github/workflows/*.yml
#
# Idempotent: a second run finds the binary and returns at once. Progress goes to
# stderr. Needs Go (a cold build takes about half a minute).
set -euo pipefail

version=1.7.12
cache=${ACTIONLINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-karmo-roles}
dir="$cache/actionlint-$version"
bin="$dir/actionlint"

check() {
  local reported
  reported=$("$bin" -version 2>/dev/null | head -n 1) || return 1
  [ "$reported" = "v$version" ] || { echo "actionlint: $bin reports '$reported', expected v$version" >&2; return 1; }
}

if [ -x "$bin" ] && check; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "actionlint: Go is not installed; cannot build actionlint" >&2; exit 3; }

echo "actionlint: building actionlint v$version into $dir" >&2
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/actionlint-$version.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# go install with an @version builds that module version alone (the checksum database
# verifies it), whatever go.mod is around; GOFLAGS from the caller must not change that.
GOFLAGS= GOBIN="$tmp" go install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@v$version" >&2
mkdir -p "$dir"
mv -f "$tmp/actionlint" "$bin"
check || { echo "actionlint: the build does not report v$version" >&2; exit 1; }
echo "$bin"
