# Shared helpers for eng/ scripts. Source it: . "$(dirname "$0")/lib.sh"
# Every process a script starts is stopped by its pid (pid files under $COMPGRID_STATE/run); never by name.

#
# Where state lives: daemons that drop to their own users (postgres, munge, mysql, slurm, the ssh test user) must
# reach their data, and a checkout may sit below a folder they cannot traverse (/root/compgrid, a `mktemp -d`
# folder). So the state of a checkout goes to /var/tmp/compgrid-<hash of the checkout's path and inode>, a 0755
# folder owned by whoever runs the scripts (each daemon's own subfolder is owned by that daemon's user), and
# <checkout>/.state links to it. COMPGRID_STATE overrides the folder. `eng/state.sh path|clean` shows or removes it.

# Files the scripts create must be readable by the service users whatever the caller's umask; secrets are chmod'ed.
umask 022
COMPGRID_REPO="${COMPGRID_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}"

# cg_default_state: prints the default state folder of this checkout (a new clone at the same path gets a new one).
cg_default_state() {
  local id
  id="$(printf '%s:%s' "$COMPGRID_REPO" "$(stat -c %i "$COMPGRID_REPO")" | sha256sum | cut -c1-12)"
  echo "/var/tmp/compgrid-$id"
}

# cg_legacy_state: a <checkout>/.state folder (not the link) whose daemons still run: keep using it until they stop.
cg_legacy_state() {
  local d="$COMPGRID_REPO/.state" f
  [ -d "$d" ] && [ ! -L "$d" ] || return 1
  for f in "$d"/run/*.pid; do
    [ -f "$f" ] && [ -r "/proc/$(cat "$f")/stat" ] && return 0
  done
  return 1
}

if [ -z "${COMPGRID_STATE:-}" ]; then
  if cg_legacy_state; then
    COMPGRID_STATE="$COMPGRID_REPO/.state"
  else
    COMPGRID_STATE="$(cg_default_state)"
    # /var/tmp is writable by everyone: refuse a folder (or link) someone else prepared there.
    if [ -L "$COMPGRID_STATE" ] || { [ -e "$COMPGRID_STATE" ] && [ "$(stat -c %u "$COMPGRID_STATE")" != "$(id -u)" ]; }; then
      echo "state folder $COMPGRID_STATE is a link or not owned by $(id -un): remove it or set COMPGRID_STATE" >&2
      exit 1
    fi
    install -d -m 755 "$COMPGRID_STATE"
    # The link shows a newcomer where logs and state are; an old .state folder is left alone.
    [ -e "$COMPGRID_REPO/.state" ] || [ -L "$COMPGRID_REPO/.state" ] || ln -s "$COMPGRID_STATE" "$COMPGRID_REPO/.state"
  fi
fi
mkdir -p "$COMPGRID_STATE/run" "$COMPGRID_STATE/log" "$COMPGRID_STATE/env"
# Pid files, logs and the env files (which name key files) are root's business only.
chmod 700 "$COMPGRID_STATE/run" "$COMPGRID_STATE/log" "$COMPGRID_STATE/env"

cg_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# cg_apt_install PKG...: installs the Debian packages that are missing (apt-get update once per run).
cg_apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  cg_log "installing: ${missing[*]}"
  if [ ! -f "$COMPGRID_STATE/run/apt-updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch "$COMPGRID_STATE/run/apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >"$COMPGRID_STATE/log/apt.log" 2>&1 \
    || { cg_log "apt-get install failed, see $COMPGRID_STATE/log/apt.log"; return 1; }
}

# cg_alive PID: the process exists and is not a zombie (PID 1 here reaps late; kill -0 is not enough).
cg_alive() {
  local pid="$1"
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  local state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != "Z" ]
}

# cg_running NAME: the daemon started under NAME is alive.
cg_running() { local f="$COMPGRID_STATE/run/$1.pid"; [ -f "$f" ] && cg_alive "$(cat "$f")"; }

# cg_start NAME CMD...: starts CMD in its own session, output to log/NAME.log, pid to run/NAME.pid.
cg_start() {
  local name="$1"; shift
  if cg_running "$name"; then return 0; fi
  setsid "$@" >"$COMPGRID_STATE/log/$name.log" 2>&1 </dev/null &
  echo $! >"$COMPGRID_STATE/run/$name.pid"
}

# cg_stop NAME [SECONDS]: SIGTERM by pid, then SIGKILL after SECONDS (default 10).
cg_stop() {
  local name="$1" wait="${2:-10}" f="$COMPGRID_STATE/run/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if cg_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i=0
    while cg_alive "$pid" && [ $i -lt $((wait * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    cg_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# cg_wait_for DESCRIPTION SECONDS CMD...: polls CMD every 0.2 s until it succeeds or SECONDS pass.
cg_wait_for() {
  local what="$1" secs="$2"; shift 2
  local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt $((secs * 5)) ]; then cg_log "timed out waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# cg_env NAME KEY=VALUE...: writes the variables tests read to env/NAME.env (sourced by eng/test.sh).
cg_env() {
  local name="$1"; shift
  : >"$COMPGRID_STATE/env/$name.env"
  for kv in "$@"; do printf 'export %q\n' "$kv" >>"$COMPGRID_STATE/env/$name.env"; done
}
