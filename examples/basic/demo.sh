#!/usr/bin/env bash
# Run examples/basic with the real Pulumi CLI against a local Karmo sandbox:
# no Karmo credentials and no Pulumi account (local file backend in a temp dir).
#   bash examples/basic/demo.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if ! command -v pulumi >/dev/null 2>&1; then
  if command -v go >/dev/null 2>&1; then
    # Build the pinned CLI from the Go module proxy (cached: later runs reuse it).
    printf 'demo: no `pulumi` on PATH: building the Pulumi CLI with Go (cold: minutes; then cached)... '
    started=$(date +%s)
    build_log=$(mktemp)
    if ! pulumi_bin=$(bash "$root/scripts/pulumi-cli.sh" 2>"$build_log"); then
      echo "failed:"
      cat "$build_log" >&2
      exit 1
    fi
    rm -f "$build_log"
    export PATH="$pulumi_bin:$PATH"
    echo "done in $(( $(date +%s) - started ))s ($pulumi_bin)"
  else
    cat >&2 <<'MSG'
demo: the Pulumi CLI is not installed (no `pulumi` on PATH), and this demo runs `pulumi up`.
Either install Go (>= 1.26) and run this script again (it builds the CLI from source with
scripts/pulumi-cli.sh), or install the CLI, then run this script again:
    curl -fsSL https://get.pulumi.com | sh        # Linux/macOS; or: brew install pulumi/tap/pulumi
    export PATH="$HOME/.pulumi/bin:$PATH"
(https://www.pulumi.com/docs/iac/download-install/).
MSG
    exit 2
  fi
fi

python=${PYTHON:-python3}
venv="$root/.venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q -e "$root"
# Pulumi runs the program with the python3 on PATH: make it the venv's.
export PATH="$venv/bin:$PATH"

work=$(mktemp -d)
sandbox_pid=""
cleanup() {
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The sandbox picks a free port and prints its URL on its first line.
python -m pulumi_karmo_roles.sandbox --port 0 --token dev-token >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/sandbox.log" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/.*listening on //p' "$work/sandbox.log")
[ -n "$url" ] || { echo "demo: the sandbox did not start:" >&2; cat "$work/sandbox.log" >&2; exit 1; }
echo "demo: Karmo sandbox at $url"

# Work on a copy so the stack file (Pulumi.dev.yaml) never lands in the repository.
cp -r "$root/examples/basic" "$work/project"
cd "$work/project"
mkdir -p "$work/state"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-demo-passphrase}"
export PULUMI_SKIP_UPDATE_CHECK=true

pulumi stack init dev --non-interactive
pulumi config set karmo:apiUrl "$url"
pulumi config set --secret karmo:token dev-token
pulumi config set customerOrganizationId org_customer_42

# Commands that run the program. With Pulumi's Python language host installed
# (pulumi-language-python, as in a release of the CLI) they are plain `pulumi`; the CLI
# built from source here has none, so the program runs as an Automation API inline
# program (scripts/pulumi_inline.py): the same CLI, engine and output.
program() {
  if command -v pulumi-language-python >/dev/null 2>&1; then
    pulumi "$@"
  else
    python "$root/scripts/pulumi_inline.py" "$work/project" "$@"
  fi
}

program preview --diff --non-interactive
program up --yes --skip-preview --non-interactive
program up --yes --skip-preview --non-interactive --expect-no-changes
pulumi stack output --json
echo "demo: roles the sandbox now holds:"
python - "$url" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/_sandbox/roles") as answer:
    for role in json.load(answer)["roles"]:
        print(f"  {role['organization_id']}/{role['slug']}: {role['name']!r} ({role['id']})")
PY
program destroy --yes --skip-preview --non-interactive
echo "demo: done (Karmo has no delete: the roles stay in the sandbox until it stops)"
