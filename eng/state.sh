#!/usr/bin/env bash
# Where this checkout's backends keep their state (chosen in eng/lib.sh), and how to remove it.
#
#   eng/state.sh path    print the state folder (/var/tmp/compgrid-<hash>, or $COMPGRID_STATE)
#   eng/state.sh clean   stop every backend of this checkout (eng/backends/*.sh stop, by pid), then delete the
#                        state folder and the <checkout>/.state link; the next eng/test.sh starts from scratch
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

clean() {
  local script f
  for script in "$here"/backends/*.sh; do
    [ -e "$script" ] || continue
    bash "$script" stop || cg_log "$(basename "$script" .sh): stop failed"
  done
  for f in "$COMPGRID_STATE"/run/*.pid; do
    [ -f "$f" ] || continue
    if cg_alive "$(cat "$f")"; then
      cg_log "$(basename "$f" .pid) is still running (pid $(cat "$f")): not removing $COMPGRID_STATE"
      return 1
    fi
  done
  case "$COMPGRID_STATE" in
    / | "$COMPGRID_REPO" | "") cg_log "refusing to remove '$COMPGRID_STATE'"; return 1 ;;
  esac
  rm -rf "$COMPGRID_STATE"
  if [ -L "$COMPGRID_REPO/.state" ]; then rm -f "$COMPGRID_REPO/.state"; fi
  cg_log "removed $COMPGRID_STATE"
}

case "${1:-}" in
  path) echo "$COMPGRID_STATE" ;;
  clean) clean ;;
  *) echo "usage: $0 path|clean" >&2; exit 2 ;;
esac
