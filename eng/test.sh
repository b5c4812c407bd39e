#!/usr/bin/env bash
# Installs what is missing, starts the real backends the tests need, runs every test project, stops what it
# started. Extra arguments go to `dotnet test` (for example: eng/test.sh --filter Category=Local).
#
# Backends are plug-ins: each eng/backends/NAME.sh takes `start` or `stop`. `start` installs its Debian
# packages if missing, starts its daemons on 127.0.0.1 (pid files under $COMPGRID_STATE/run) and writes the
# variables its tests read to $COMPGRID_STATE/env/NAME.env. With a `--filter` naming Category=X, only the
# backend scripts whose name matches X are started.
#
# COMPGRID_REQUIRE_BACKENDS=1 (set by .ci/run) turns a missing backend into failing tests instead of skipped ones.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
cd "$COMPGRID_REPO"

args=("$@")
filter=""
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --filter) filter="${args[$((i + 1))]:-}" ;;
    --filter=*) filter="${args[$i]#--filter=}" ;;
  esac
done

wanted() { # wanted BACKEND: whether the filter's categories need this backend
  [ -z "$filter" ] && return 0
  echo "$filter" | grep -qiE "Category[!~]?=[^|&]*$1" && return 0
  echo "$filter" | grep -qi "Category" || return 0
  return 1
}

started=()
stop_all() {
  for ((j = ${#started[@]} - 1; j >= 0; j--)); do
    cg_log "stopping ${started[$j]}"
    bash "$here/backends/${started[$j]}.sh" stop || cg_log "stopping ${started[$j]} failed"
  done
}
trap stop_all EXIT

for script in "$here"/backends/*.sh; do
  [ -e "$script" ] || continue
  name="$(basename "$script" .sh)"
  wanted "$name" || continue
  cg_log "starting backend: $name"
  started+=("$name")
  if ! bash "$script" start; then
    cg_log "backend $name did not start (its tests will fail under COMPGRID_REQUIRE_BACKENDS=1, or be skipped)"
    rm -f "$COMPGRID_STATE/env/$name.env"
  fi
done
for envfile in "$COMPGRID_STATE"/env/*.env; do
  [ -e "$envfile" ] && . "$envfile"
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="$COMPGRID_STATE/test-results"
rm -rf "$results"; mkdir -p "$results"

dotnet build CompGrid.sln -c Release -nologo -v q 2>&1 | tail -n 30
build_rc=${PIPESTATUS[0]}
if [ "$build_rc" -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

rc=0
passed=0 failed=0 skipped=0
for proj in tests/*/*.csproj; do
  name="$(basename "$proj" .csproj)"
  out="$results/$name.log"
  dotnet test "$proj" -c Release --no-build -nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" "${args[@]}" 2>&1 | tee "$out"
  prc=${PIPESTATUS[0]}
  # dotnet test's summary: "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, ..."
  line=$(grep -E '(Passed|Failed)!  - Failed:' "$out" | tail -n 1)
  if [ -n "$line" ]; then
    f=$(echo "$line" | sed -E 's/.*Failed: *([0-9]+).*/\1/')
    p=$(echo "$line" | sed -E 's/.*Passed: *([0-9]+).*/\1/')
    s=$(echo "$line" | sed -E 's/.*Skipped: *([0-9]+).*/\1/')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  elif [ "$prc" -ne 0 ] && ! grep -q "No test matches the given testcase filter" "$out"; then
    failed=$((failed + 1)) # the test host crashed or did not start
  fi
  [ "$prc" -ne 0 ] && ! grep -q "No test matches the given testcase filter" "$out" && rc=1
done

# Stop the backends before the summary, so the summary is the last line printed.
trap - EXIT
stop_all
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -gt 0 ] && rc=1
exit $rc
