#!/usr/bin/env bash
# One command for the whole test suite on a fresh machine (needs only the .NET 10 SDK and Node 20):
# installs Azurite from package-lock.json (and, as root, Debian's chromium for the browser test), starts it on loopback, runs every test, stops it,
# prints "N passed, N failed" and exits non-zero when anything failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

configuration="${CONFIGURATION:-Release}"
results="$root/TestResults/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm tools (Azurite, jsforce) from package-lock.json..."
  npm ci --no-audit --no-fund --loglevel=error
fi

# The status page's browser test drives Debian's Chromium (Microsoft.Playwright cannot download its own browser here).
chromium="${UNSUBSCRIBESYNC_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium package for the status page's browser test..."
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$results/apt-chromium.log" 2>&1; then
      echo "Installing chromium failed; see $results/apt-chromium.log" >&2
      exit 1
    fi
  else
    echo "Chromium is not at $chromium and this shell cannot install it (needs root and apt-get): the browser test will fail." >&2
    echo "Install Debian's chromium package, or set UNSUBSCRIBESYNC_CHROMIUM to a Chromium binary." >&2
  fi
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

azurite_pid=""
cleanup() {
  if [ -n "$azurite_pid" ]; then
    kill "$azurite_pid" 2>/dev/null || true
    wait "$azurite_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

if port_open 10000 && port_open 10001 && port_open 10002; then
  echo "Azurite (or another emulator) is already listening on 10000-10002; using it."
else
  azurite_log="$results/azurite.log"
  node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --loose \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 >"$azurite_log" 2>&1 &
  azurite_pid=$!
  for _ in $(seq 1 100); do
    if port_open 10000 && port_open 10001 && port_open 10002; then break; fi
    if ! kill -0 "$azurite_pid" 2>/dev/null; then echo "Azurite exited; see $azurite_log" >&2; exit 1; fi
    sleep 0.2
  done
  port_open 10002 || { echo "Azurite did not start within 20 s; see $azurite_log" >&2; exit 1; }
fi

set +e
dotnet test --solution UnsubscribeSync.slnx -c "$configuration" \
  --report-xunit-trx --results-directory "$results" "$@"
status=$?
set -e

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then echo "No tests ran." >&2; status=1; fi
echo "$passed passed, $failed failed"
exit "$status"
