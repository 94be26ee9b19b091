#!/usr/bin/env bash
# Regenerates docs/reliability.md: runs the fault matrix (UnsubscribeSync.Tests/Reliability/FaultMatrixTests.cs)
# with 1,000 unsubscribes per fault through the README's test command (which installs and starts Azurite).
# Takes several minutes on a 2-core machine. UNSUBSCRIBESYNC_MATRIX_EVENTS overrides the count.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export UNSUBSCRIBESYNC_MATRIX_EVENTS="${UNSUBSCRIBESYNC_MATRIX_EVENTS:-1000}"
export UNSUBSCRIBESYNC_RELIABILITY_REPORT="$root/docs/reliability.md"
"$root/scripts/test.sh" --filter-class "UnsubscribeSync.Tests.Reliability.FaultMatrixTests"
echo "Wrote $UNSUBSCRIBESYNC_RELIABILITY_REPORT"
