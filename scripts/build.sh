#!/usr/bin/env bash
# Builds everything into out/: berthd and berth-registry (framework-dependent), berth and berth-shim (NativeAOT).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
mkdir -p out
dotnet publish src/Berth.Daemon -c Release -o out --nologo -v q -nodeReuse:false
dotnet publish src/Berth.Shim -c Release -o out --nologo -v q -nodeReuse:false
dotnet publish src/Berth.FsHelper -c Release -o out --nologo -v q -nodeReuse:false
dotnet publish src/Berth.Cli -c Release -o out --nologo -v q -nodeReuse:false
dotnet publish src/Berth.Registry.Host -c Release -o out --nologo -v q -nodeReuse:false
rm -f out/*.dbg out/*.pdb
