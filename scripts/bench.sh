#!/usr/bin/env bash
# One command for the benchmarks on a fresh machine (needs only the .NET 10 SDK and Node 20):
#   scripts/bench.sh [--smoke|--full] [--million] [--sync-entries N] [--curve] [--only micro,intake,push,sync]
# Installs Azurite from package-lock.json when missing, starts Azurite (unless something already listens
# on 10000-10002; else on free ports) and, for full runs, the Salesforce sandbox in its own process,
# builds UnsubscribeSync.Benchmarks in Release, runs it, and stops everything it started.
# UNSUBSCRIBESYNC_BENCH_STORAGE=<connection string> uses that storage account instead of Azurite.
# UNSUBSCRIBESYNC_BENCH_OWN_AZURITE=1 starts a private Azurite on free ports even when one is running
# (a shared emulator busy with other work makes the figures noisier).
# --full (default) rewrites docs/benchmarks.md; --smoke (tiny sizes, < 60 s) writes TestResults/benchmarks-smoke.md.
# --only runs just the scenarios named; in docs/benchmarks.md the sections and target rows of the others are kept
# from the previous run, marked as such.
# --curve runs only the sync scenarios (3 and 4) and the sync's cost curve (5: full and incremental runs at 2,500,
# 5,000, 10,000 and 20,000 entries, and 100,000 Salesforce records against 10,000 entries); the report keeps the
# previous run's sections and target rows of the scenarios it did not run.
# Exits non-zero when a scenario fails or reports an impossible number.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode="--full"
extra=()
while [ $# -gt 0 ]; do
  arg="$1"; shift
  case "$arg" in
    --smoke|--full) mode="$arg" ;;
    --million) extra+=(--million) ;;
    --sync-entries) extra+=(--sync-entries "${1:?--sync-entries needs a number}"); shift ;;
    --only) extra+=(--only "${1:?--only needs a list such as push,sync}"); shift ;;
    --curve) extra+=(--curve --only sync) ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "Unknown argument '$arg'. Usage: scripts/bench.sh [--smoke|--full] [--million] [--sync-entries N] [--curve] [--only LIST]" >&2; exit 2 ;;
  esac
done

build_root="${UNSUBSCRIBESYNC_BUILD_ROOT:-$root}"
build_root="${build_root%/}"
logs="$root/TestResults/bench-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$logs"

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm tools (Azurite) from package-lock.json..."
  npm ci --no-audit --no-fund --loglevel=error
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for port in $(seq "$1" $(($1 + 500))); do
    if ! port_open "$port"; then echo "$port"; return 0; fi
  done
  echo "No free port from $1" >&2; return 1
}
wait_port() { # port pid name log
  for _ in $(seq 1 150); do
    if port_open "$1"; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "$3 exited; see $4" >&2; return 1; fi
    sleep 0.2
  done
  echo "$3 did not start within 30 s; see $4" >&2; return 1
}

started=()
cleanup() {
  local pid
  for pid in "${started[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
if [ -n "${UNSUBSCRIBESYNC_BENCH_STORAGE:-}" ]; then
  echo "Using the storage account from UNSUBSCRIBESYNC_BENCH_STORAGE."
  storage="$UNSUBSCRIBESYNC_BENCH_STORAGE"
elif [ "${UNSUBSCRIBESYNC_BENCH_OWN_AZURITE:-0}" != "1" ] && port_open 10000 && port_open 10001 && port_open 10002; then
  echo "Azurite (or another emulator) is already listening on 10000-10002; using it."
  storage="UseDevelopmentStorage=true"
else
  if port_open 10000 || port_open 10001 || port_open 10002 || [ "${UNSUBSCRIBESYNC_BENCH_OWN_AZURITE:-0}" = "1" ]; then
    blob=$(free_port 20000); queue=$(free_port $((blob + 1))); table=$(free_port $((queue + 1)))
  else
    blob=10000; queue=10001; table=10002
  fi
  node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --loose \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --blobPort "$blob" --queuePort "$queue" --tablePort "$table" >"$logs/azurite.log" 2>&1 &
  started+=($!)
  wait_port "$table" "$!" Azurite "$logs/azurite.log"
  wait_port "$queue" "${started[-1]}" Azurite "$logs/azurite.log"
  storage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1;"
  echo "Started Azurite on 127.0.0.1:$blob-$table."
fi

echo "Building UnsubscribeSync.Benchmarks (Release)..."
dotnet build UnsubscribeSync.Benchmarks/UnsubscribeSync.Benchmarks.csproj -c Release --nologo -v quiet >"$logs/build.log" 2>&1 \
  || { cat "$logs/build.log" >&2; echo "Build failed; see $logs/build.log" >&2; exit 1; }
out="$build_root/UnsubscribeSync.Benchmarks/bin/Release/net10.0"

args=("$mode" "${extra[@]}" --storage "$storage" --artifacts "$root/UnsubscribeSync.Benchmarks/BenchmarkDotNet.Artifacts")
if [ "$mode" = "--full" ]; then
  # The sandbox runs in its own process so its records do not count towards the sync's peak memory.
  sandbox_port=$(free_port 5199)
  dotnet "$out/UnsubscribeSync.SalesforceSandbox.dll" --urls "http://127.0.0.1:$sandbox_port" \
    --Logging:LogLevel:Default=Warning >"$logs/sandbox.log" 2>&1 &
  started+=($!)
  wait_port "$sandbox_port" "$!" "Salesforce sandbox" "$logs/sandbox.log"
  args+=(--sandbox-url "http://127.0.0.1:$sandbox_port")
fi
if [ "$mode" = "--full" ]; then
  args+=(--output "$root/docs/benchmarks.md")
else
  args+=(--output "$root/TestResults/benchmarks-smoke.md")
fi

echo "Running the benchmarks ($mode ${extra[*]})..."
dotnet "$out/UnsubscribeSync.Benchmarks.dll" "${args[@]}" 2>&1 | tee "$logs/bench.log"
exit "${PIPESTATUS[0]}"
