#!/usr/bin/env bash
# Runs the app locally against Azurite and the Salesforce sandbox: webhook -> queue -> Salesforce, no org needed.
# Needs Azure Functions Core Tools (func). Checks for it before starting anything, so a missing
# install leaves nothing running behind; everything it starts is stopped when func exits.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v func >/dev/null 2>&1; then
  cat >&2 <<'MSG'
Azure Functions Core Tools (func) is not installed, so the app cannot be hosted locally.
Install Core Tools 4.x: https://learn.microsoft.com/azure/azure-functions/functions-run-local
  (for example: npm install -g azure-functions-core-tools@4, or your OS package manager)
Nothing was started. The tests do not need Core Tools: run scripts/test.sh.
MSG
  exit 1
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p .azurite

if port_open 10000 && port_open 10001 && port_open 10002; then
  echo "Using the storage emulator already listening on 10000-10002."
else
  node_modules/.bin/azurite --silent --skipApiVersionCheck --loose --location .azurite \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 >.azurite/azurite.log 2>&1 &
  pids+=($!)
fi

if port_open 5080; then
  echo "Using the Salesforce endpoint already listening on 127.0.0.1:5080."
else
  dotnet run --project UnsubscribeSync.SalesforceSandbox -- --urls http://127.0.0.1:5080 >.azurite/sandbox.log 2>&1 &
  pids+=($!)
fi

for _ in $(seq 1 150); do
  if port_open 10002 && port_open 5080; then break; fi
  sleep 0.2
done
port_open 5080 || { echo "The Salesforce sandbox did not start; see .azurite/sandbox.log" >&2; exit 1; }

if [ ! -f local.settings.json ]; then
  cp local.settings.sample.json local.settings.json
  echo "Created local.settings.json from local.settings.sample.json (it is git-ignored)."
fi

cd UnsubscribeSync.Functions
func start
