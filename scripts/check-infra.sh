#!/usr/bin/env bash
# Compiles and lints every Bicep file under infra/ with a pinned Bicep CLI and fails on any error
# OR warning (Bicep itself exits 0 on warnings). Also checks infra/main.parameters.json against the
# compiled template. Runs offline once the CLI is cached; works from any directory.
#
# The Bicep CLI comes from the NuGet package Azure.Bicep.CommandLine.<rid> (version pinned in
# infra/tools/BicepCli.proj), restored into .tools/nuget (git-ignored) on first use.
# Also builds and lints each infra/*.bicepparam (one per network mode), and checks from the compiled template which
# paths App Service Authentication leaves open and that every infra/alerts/*.kql is an alert rule's query.
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

# Which paths App Service Authentication (infra/modules/auth.bicep) lets through without a sign-in, read from the
# compiled template: the webhook and the consent API must stay open (their callers cannot sign in; they have their own
# keys), the status page and API must not be, and every HTTP route in UnsubscribeSync.Functions/Functions must be one
# or the other on purpose. Also checks that every infra/alerts/*.kql is the query of an alert rule.
# Prints the table, so CI shows what is protected.
if [ "$errors" -eq 0 ] && ! command -v python3 >/dev/null 2>&1; then
  echo "check-infra: python3 not found, sign-in paths and alert queries not checked" >&2
elif [ "$errors" -eq 0 ]; then
  python3 - "$out/arm/main.json" UnsubscribeSync.Functions/Functions infra/alerts <<'PY' || errors=$((errors + 1))
import glob, json, os, re, sys

template = json.load(open(sys.argv[1], encoding="utf-8"))
problems = []

excluded = template.get("variables", {}).get("statusPageAuthExcludedPaths")
if not isinstance(excluded, list):
    sys.exit("infra/main.bicep: variable statusPageAuthExcludedPaths (the Easy Auth excluded paths) not found")

# The auth module must pass that list on and require a sign-in with a redirect for everything else.
def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)

auth = [r for r in walk(template) if r.get("type") == "Microsoft.Web/sites/config" and "authsettingsV2" in str(r.get("name"))]
module = [r for r in walk(template) if r.get("type") == "Microsoft.Resources/deployments" and r.get("name") == "auth"]
if len(auth) != 1 or len(module) != 1:
    problems.append(f"expected one authsettingsV2 resource in one 'auth' module, found {len(auth)} in {len(module)}")
else:
    validation = auth[0]["properties"]["globalValidation"]
    if validation.get("requireAuthentication") is not True:
        problems.append("authsettingsV2: globalValidation.requireAuthentication is not true")
    if validation.get("unauthenticatedClientAction") != "RedirectToLoginPage":
        problems.append("authsettingsV2: unauthenticatedClientAction is not RedirectToLoginPage")
    passed = module[0]["properties"]["parameters"].get("excludedPaths", {}).get("value")
    if validation.get("excludedPaths") != "[parameters('excludedPaths')]" or passed != "[variables('statusPageAuthExcludedPaths')]":
        problems.append("authsettingsV2: excludedPaths does not come from statusPageAuthExcludedPaths")

def open_by(path):
    """The excluded entry that lets path through without a sign-in, or None."""
    for entry in excluded:
        if entry == path or (entry.endswith("/*") and path.startswith(entry[:-1])):
            return entry
    return None

# Every HTTP route of the app (the host's route prefix is api).
routes = {}
for source in sorted(glob.glob(os.path.join(sys.argv[2], "*.cs"))):
    for match in re.finditer(r'HttpTrigger\([^)]*Route\s*=\s*"([^"]+)"', open(source, encoding="utf-8").read()):
        routes["/api/" + match.group(1)] = os.path.basename(source)[:-3]
must_be_open = {"/api/unsubscribes": "Marketo webhook: function key + signature",
                "/api/consent/{email}": "consent API: function key + X-Consent-Key",
                "/api/consent/changes": "consent API: function key + X-Consent-Key"}
must_sign_in = {"/api/status", "/api/status/page", "/api/links/retry"}
for route in sorted(set(routes) | set(must_be_open) | must_sign_in):
    entry = open_by(route)
    if route in must_be_open and entry is None:
        problems.append(f"{route} ({must_be_open[route]}) would need an Entra sign-in its caller cannot do: add it to statusPageAuthExcludedPaths")
    if route in must_sign_in and entry is not None:
        problems.append(f"{route} must need a sign-in, but {entry} lets it through")
    if route not in must_be_open and route not in must_sign_in:
        problems.append(f"{route} ({routes[route]}) is new: list it in scripts/check-infra.sh as open (machine-called) or sign-in")
    if route not in routes:
        problems.append(f"{route} is listed here but no function has that route")
    print(f"  {'open   ' if entry else 'sign-in'} {route}" + (f"  (excluded by {entry})" if entry else ""))

# Alert queries: each file is loaded by a rule (loadTextContent puts its text, verbatim, into the compiled template).
def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)

texts = set(strings(template))
kql = sorted(glob.glob(os.path.join(sys.argv[3], "*.kql")))
for path in kql:
    if open(path, encoding="utf-8").read() not in texts:
        problems.append(f"infra/alerts/{os.path.basename(path)} is not loaded by any alert rule")
rules = [r for r in walk(template) if r.get("type") == "Microsoft.Insights/scheduledQueryRules"]
if kql and not rules:
    problems.append("no Microsoft.Insights/scheduledQueryRules resource in the template")
print(f"  alert queries loaded by the alert rules: {', '.join(os.path.basename(p)[:-4] for p in kql)}")

for p in problems:
    print("check-infra: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
fi

if [ "$warnings" -ne 0 ] || [ "$errors" -ne 0 ]; then
  echo "infra: FAILED: ${#files[@]} bicep files, ${#param_files[@]} parameter files, $warnings warnings, $errors errors (Bicep $version)" >&2
  exit 1
fi
echo "infra: ${#files[@]} bicep files and ${#param_files[@]} parameter files (network modes) compiled, 0 warnings (Bicep $version)"
