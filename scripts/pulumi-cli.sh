#!/usr/bin/env bash
# Build the pinned Pulumi CLI from the Go module proxy into a cache outside the repo,
# print its bin directory on stdout (the last line), and check it with `pulumi version`.
#
#   PATH="$(bash scripts/pulumi-cli.sh):$PATH"
#
# Idempotent: a second run finds the finished build and returns in about a second.
# Progress goes to stderr. Needs Go >= 1.26 (tools/pulumi-cli/go.mod pins the release).
#
# What it builds, beside each other in <cache>/pulumi-<version>/bin:
#   pulumi                         github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-resource-pulumi-python  the shim the engine starts for Python dynamic providers
#   pulumi-language-python-exec    the language host's program runner
# (both shims are files of the sdk/v3 module, copied from the module cache, never
# committed). The Python language host (pulumi-language-python) is not built: its module,
# github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, has no version tags
# and the module proxy reachable here refuses it (403 for its version list, for `latest`
# and for branch queries), and the proxy's .info for sdk/v3 carries no commit hash to
# name a pseudo-version with. Programs therefore run as Automation API inline programs
# (scripts/pulumi_inline.py), which host the program in-process and need no language host.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module="$root/tools/pulumi-cli"
version=$(sed -n 's|^[[:space:]]*github.com/pulumi/pulumi/pkg/v3 v\([0-9.]*\).*|\1|p' "$module/go.mod")
[ -n "$version" ] || { echo "pulumi-cli: no pkg/v3 version in $module/go.mod" >&2; exit 1; }
cache=${PULUMI_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-karmo-roles}
bin="$cache/pulumi-$version/bin"
stamp="$bin/.complete"

check() {
  local reported
  reported=$("$bin/pulumi" version 2>/dev/null) || return 1
  [ "$reported" = "v$version" ] || { echo "pulumi-cli: $bin/pulumi reports '$reported', expected v$version" >&2; return 1; }
  [ -x "$bin/pulumi-resource-pulumi-python" ] && [ -f "$bin/pulumi-language-python-exec" ]
}

if [ -f "$stamp" ] && check; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "pulumi-cli: Go is not installed; cannot build the Pulumi CLI" >&2; exit 3; }

start=$(date +%s)
echo "pulumi-cli: building Pulumi CLI v$version into $bin (a cold build takes minutes)" >&2
rm -rf "$bin.tmp"
mkdir -p "$bin.tmp"
cd "$module"
# -mod=readonly: go.mod and go.sum are committed; a build never rewrites them.
go build -mod=readonly -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
  -o "$bin.tmp/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

sdk_dir=$(go list -mod=readonly -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
[ -d "$sdk_dir" ] || { echo "pulumi-cli: sdk/v3 is not in the module cache" >&2; exit 1; }
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$bin.tmp/"
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin.tmp/"

rm -rf "$bin"
mv "$bin.tmp" "$bin"
check || { echo "pulumi-cli: the build does not pass \`pulumi version\`" >&2; exit 1; }
touch "$stamp"
echo "pulumi-cli: built Pulumi CLI v$version in $(( $(date +%s) - start ))s" >&2
echo "$bin"
