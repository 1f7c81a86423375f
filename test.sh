#!/usr/bin/env bash
# Installs what is missing, builds, runs every test (unit and integration, for real, as root).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
scripts/build.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
dotnet build Berth.slnx -c Release --nologo -v q -nodeReuse:false
status=0
passed=0; failed=0; skipped=0
for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  echo "=== $name"
  log=$(mktemp)
  if ! dotnet test "$proj" -c Release --no-build --nologo -nodeReuse:false --logger "console;verbosity=normal" 2>&1 | tee "$log" | grep -E '^\s*(Failed|Skipped) |Error Message|Passed!|Failed!|error' ; then :; fi
  line=$(grep -E '(Passed|Failed)!' "$log" | tail -1 || true)
  p=$(echo "$line" | sed -nE 's/.*Passed:\s*([0-9]+).*/\1/p'); f=$(echo "$line" | sed -nE 's/.*Failed:\s*([0-9]+).*/\1/p'); s=$(echo "$line" | sed -nE 's/.*Skipped:\s*([0-9]+).*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
  if [ -z "$line" ] || [ "${f:-0}" != "0" ]; then status=1; [ -z "$line" ] && { echo "$name: no test result"; tail -30 "$log"; }; fi
  rm -f "$log"
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
