#!/usr/bin/env bash
# Installs what is missing, builds, runs every test (unit and integration, for real, as root).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
dotnet build Berth.slnx -c Release --nologo -v q -nodeReuse:false
status=0 passed=0 failed=0 skipped=0
for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  echo "=== $name"
  log=$(mktemp)
  dotnet test "$proj" -c Release --no-build --nologo -nodeReuse:false 2>&1 | tee "$log" || true
  # The summary line: "Passed!  - Failed: 0, Passed: 23, Skipped: 0, Total: 23, Duration: ..." (or "Failed!  - ...").
  line=$(grep -E '(Passed|Failed)!\s+-' "$log" | tail -1 || true)
  num() { echo "$line" | sed -nE "s/.*[^a-zA-Z]$1:\s*([0-9]+).*/\1/p"; }
  p=$(num Passed); f=$(num Failed); s=$(num Skipped)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
  if [ -z "$line" ]; then echo "$name: no test result"; status=1; fi
  [ "${f:-0}" = "0" ] || status=1
  rm -f "$log"
done
# Acceptance: the suites leave no mounts, links, nft tables, cgroups or processes behind.
scripts/check-clean.sh || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
