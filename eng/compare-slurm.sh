#!/usr/bin/env bash
# CompGrid's durable submit rate beside `sbatch` on the project's Slurm 22.05 test cluster, in one run.
#
#   eng/compare-slurm.sh [JOBS]        JOBS sbatch submissions per mode (default 200)
#
# 1. Starts the test cluster (eng/backends/slurm.sh) on the alternative port set, so that it does not collide with a
#    cluster on the default ports (set COMPGRID_SLURM_*_PORT yourself to override), unless one is already running
#    from this checkout; stops it again at the end if this script started it.
# 2. sbatch: JOBS held submissions (`sbatch --hold --wrap true`, nothing runs) from one shell, then from 8 parallel
#    shells; each rate is jobs / wall time; the jobs are cancelled afterwards.
# 3. CompGrid: the same machine, same minute, `benchmarks/CompGrid.Benchmarks -- --quick --submit`: 20,000 durable
#    submissions on SQLite (WAL, synchronous=NORMAL) straight into the store and through the engine with a backend
#    that runs nothing, from 1 and 8 submitters.
# Prints one table plus the load average before and after (the machine is shared; compare within one run only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
. "$here/lib.sh"

jobs="${1:-200}"
case "$jobs" in ''|*[!0-9]*) echo "JOBS must be a positive integer, got '$jobs'" >&2; exit 2 ;; esac
[ "$jobs" -ge 8 ] || { echo "JOBS must be at least 8 (8 parallel submitters), got $jobs" >&2; exit 2; }

export COMPGRID_SLURM_CTLD_PORT="${COMPGRID_SLURM_CTLD_PORT:-7817}" COMPGRID_SLURM_DBD_PORT="${COMPGRID_SLURM_DBD_PORT:-7819}"
export COMPGRID_SLURM_DB_PORT="${COMPGRID_SLURM_DB_PORT:-34061}" COMPGRID_SLURM_REST_PORT="${COMPGRID_SLURM_REST_PORT:-7820}"
export COMPGRID_SLURM_SSH_PORT="${COMPGRID_SLURM_SSH_PORT:-3222}" COMPGRID_SLURM_NODE_PORT_BASE="${COMPGRID_SLURM_NODE_PORT_BASE:-18000}"

started=0
cleanup() {
  if [ -n "${SLURM_CONF:-}" ]; then scancel --quiet --user="$(id -un)" --state=PENDING 2>/dev/null || true; fi
  if [ "$started" = 1 ]; then "$here/backends/slurm.sh" stop >/dev/null 2>&1 || cg_log "slurm stop failed; run eng/backends/slurm.sh stop"; fi
}
trap cleanup EXIT

load_before="$(cat /proc/loadavg)"
if ! cg_running slurm-slurmctld; then
  started=1
  "$here/backends/slurm.sh" start
fi
# shellcheck disable=SC1091
. "$COMPGRID_STATE/env/slurm.env"
export SLURM_CONF="$COMPGRID_SLURM_CONF"

now_ns() { date +%s%N; }
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }

submit_serial() { local i; for ((i = 0; i < $1; i++)); do sbatch --hold --quiet --output=/dev/null --wrap true >/dev/null; done; }

t0=$(now_ns); submit_serial "$jobs"; t1=$(now_ns)
sbatch1=$(rate "$jobs" $((t1 - t0)))
scancel --quiet --user="$(id -un)" --state=PENDING || true

each=$((jobs / 8)); pids=()
t0=$(now_ns)
for _ in 1 2 3 4 5 6 7 8; do submit_serial "$each" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
t1=$(now_ns)
sbatch8=$(rate $((each * 8)) $((t1 - t0)))
scancel --quiet --user="$(id -un)" --state=PENDING || true

# Stop the cluster before CompGrid runs, so both measure the machine with the same neighbours.
if [ "$started" = 1 ]; then "$here/backends/slurm.sh" stop >/dev/null 2>&1; started=0; unset SLURM_CONF; fi

out="$(dotnet run -c Release --project "$repo/benchmarks/CompGrid.Benchmarks" -- --quick --submit)"
pick() { echo "$out" | awk -v k="$1" -F': ' 'index($0, k) == 1 { split($2, a, " "); gsub(",", "", a[1]); print a[1] }'; }

cat <<TABLE

| Submitter(s) | sbatch (Slurm 22.05 test cluster, held jobs) | CompGrid store (SQLite, durable) | CompGrid engine (SQLite, backend runs nothing) |
|---|---|---|---|
| 1 | $sbatch1 jobs/s | $(pick "store submits, 1 submitter(s)") jobs/s | $(pick "engine submits, 1 submitter(s)") jobs/s |
| 8 | $sbatch8 jobs/s | $(pick "store submits, 8 submitter(s)") jobs/s | $(pick "engine submits, 8 submitter(s)") jobs/s |

sbatch: $jobs jobs per mode; CompGrid: 20,000 jobs per mode. Load average before: $load_before; after: $(cat /proc/loadavg).
TABLE
