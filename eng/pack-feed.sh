#!/usr/bin/env bash
# Packs the CompGrid packages the notebooks and scripts load into a local NuGet feed, artifacts/feed, and prints its
# path. Each run gets its own prerelease version (0.1.0-local.<UTC time>) so a notebook that asks for
# `0.1.0-local.*` always gets this checkout's code, never a stale copy from the NuGet cache.
#   eng/pack-feed.sh [project names…]      (default: the packages the notebooks use)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$COMPGRID_REPO"

projects=("$@")
[ ${#projects[@]} -gt 0 ] || projects=(CompGrid.Abstractions CompGrid.Scheduling CompGrid.Local CompGrid.Storage.Sqlite CompGrid.Billing CompGrid.Billing.Sqlite)
feed="$COMPGRID_REPO/artifacts/feed"
version="0.1.0-local.$(date -u +%Y%m%d%H%M%S)"
rm -rf "$feed"; mkdir -p "$feed"
for p in "${projects[@]}"; do
  cg_log "packing $p $version"
  dotnet pack "src/$p/$p.csproj" -c Release -nologo -v q -o "$feed" -p:Version="$version" -p:IncludeSymbols=false \
    >>"$COMPGRID_STATE/log/pack-feed.log" 2>&1 || { cg_log "dotnet pack $p failed, see $COMPGRID_STATE/log/pack-feed.log"; exit 1; }
done
echo "$feed"
