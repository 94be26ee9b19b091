#!/usr/bin/env bash
# Compiles and lints every Bicep file under infra/ with a pinned Bicep CLI and fails on any error
# OR warning (Bicep itself exits 0 on warnings). Also checks infra/main.parameters.json against the
# compiled template. Runs offline once the CLI is cached; works from any directory.
#
# The Bicep CLI comes from the NuGet package Azure.Bicep.CommandLine.<rid> (version pinned in
# infra/tools/BicepCli.proj), restored into .tools/nuget (git-ignored) on first use.
# Also builds and lints each infra/*.bicepparam (one per network mode).
# Prints one summary line: "infra: N bicep files and M parameter files compiled, 0 warnings" (or "infra: FAILED: ..." on stderr).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

tool_project="infra/tools/BicepCli.proj"
version="$(sed -n 's:.*<BicepVersion>\(.*\)</BicepVersion>.*:\1:p' "$tool_project")"
[ -n "$version" ] || { echo "check-infra: no <BicepVersion> in $tool_project" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) rid=linux-arm64 ;;
  Darwin-x86_64) rid=osx-x64 ;;
  Darwin-arm64) rid=osx-arm64 ;;
  *) echo "check-infra: no Bicep CLI package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

packages="$root/.tools/nuget"
bicep="$packages/azure.bicep.commandline.$rid/$version/tools/bicep"

if [ ! -f "$bicep" ]; then
  mkdir -p "$root/.tools"
  echo "check-infra: restoring Azure.Bicep.CommandLine.$rid $version into .tools/nuget ..."
  # Other checkouts' CI runs may restore at the same time: serialize on a lock file when possible.
  restore=(dotnet restore "$tool_project" --packages "$packages" -p:BicepRid="$rid" --verbosity quiet)
  if command -v flock >/dev/null 2>&1; then
    flock "$root/.tools/bicep-restore.lock" "${restore[@]}"
  else
    "${restore[@]}"
  fi
  [ -f "$bicep" ] || { echo "check-infra: restore finished but $bicep is missing" >&2; exit 1; }
fi
[ -x "$bicep" ] || chmod +x "$bicep"

mapfile -t files < <(find infra -name '*.bicep' -not -path '*/.*' | sort)
[ "${#files[@]}" -gt 0 ] || { echo "check-infra: no .bicep files under infra/" >&2; exit 1; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Build (type checks against the embedded resource schemas) and lint (the rules in
# infra/bicepconfig.json) every file; both print "path(line,col) : Warning|Error code: message".
# The two run side by side (each is mostly CLI start-up time).
status=0
"$bicep" build --pattern 'infra/**/*.bicep' --outdir "$out/arm" >"$out/build.log" 2>&1 &
build_pid=$!
"$bicep" lint --pattern 'infra/**/*.bicep' >"$out/lint.log" 2>&1 &
lint_pid=$!
wait "$build_pid" || status=1
wait "$lint_pid" || status=1

# Each network mode has its parameter file (infra/main.<mode>.bicepparam): building and linting it checks that
# mode's values against main.bicep (allowed values, types, required parameters), so both modes stay deployable.
mapfile -t param_files < <(find infra -maxdepth 1 -name '*.bicepparam' | sort)
for param_file in "${param_files[@]}"; do
  base="$(basename "$param_file" .bicepparam)"
  "$bicep" build-params "$param_file" --outfile "$out/params-$base.json" >>"$out/build.log" 2>&1 || status=1
  "$bicep" lint "$param_file" >>"$out/lint.log" 2>&1 || status=1
done

# Build and lint report the same linter findings, and linting main.bicep reports its modules' too.
diagnostics="$(cat "$out/build.log" "$out/lint.log" | grep -E '\) : (Warning|Error) ' | sed "s|^$root/||" | sort -u || true)"
warnings="$(grep -c ' : Warning ' <<<"$diagnostics" || true)"
errors="$(grep -c ' : Error ' <<<"$diagnostics" || true)"
[ -n "$diagnostics" ] && printf '%s\n' "$diagnostics" >&2

if [ "$status" -ne 0 ] && [ "$errors" -eq 0 ]; then
  # Failed without a diagnostic line (bad pattern, crash, ...): show what it said.
  cat "$out/build.log" "$out/lint.log" >&2
  errors=1
fi

# main.parameters.json (azd substitutes ${VAR} in it) must name only parameters main.bicep declares,
# and must supply every parameter that has no default.
if [ "$errors" -eq 0 ] && [ -f infra/main.parameters.json ] && ! command -v node >/dev/null 2>&1; then
  echo "check-infra: node not found, infra/main.parameters.json not checked" >&2
elif [ "$errors" -eq 0 ] && [ -f infra/main.parameters.json ]; then
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions.
  node -e '
    const fs = require("fs");
    const template = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const given = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).parameters || {};
    const declared = template.parameters || {};
    const problems = [];
    for (const name of Object.keys(given))
      if (!(name in declared)) problems.push(`infra/main.parameters.json: "${name}" is not a parameter of main.bicep`);
    for (const [name, p] of Object.entries(declared))
      if (!("defaultValue" in p) && !(name in given)) problems.push(`infra/main.parameters.json: required parameter "${name}" is missing`);
    problems.forEach(p => console.error(p));
    process.exit(Math.min(problems.length, 100));
  ' "$out/arm/main.json" infra/main.parameters.json || errors=$((errors + $?))
fi

if [ "$warnings" -ne 0 ] || [ "$errors" -ne 0 ]; then
  echo "infra: FAILED: ${#files[@]} bicep files, ${#param_files[@]} parameter files, $warnings warnings, $errors errors (Bicep $version)" >&2
  exit 1
fi
echo "infra: ${#files[@]} bicep files and ${#param_files[@]} parameter files (network modes) compiled, 0 warnings (Bicep $version)"
