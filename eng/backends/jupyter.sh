#!/usr/bin/env bash
# Jupyter Notebook for the session tests: Debian's jupyter-notebook (installed if missing). No daemon: each test's
# session job starts its own server on 127.0.0.1. Writes $COMPGRID_STATE/env/jupyter.env: COMPGRID_JUPYTER.
#   eng/backends/jupyter.sh start|stop
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

start() {
  [ -x /usr/bin/jupyter-notebook ] || cg_apt_install jupyter-notebook
  [ -x /usr/bin/jupyter-notebook ] || { cg_log "jupyter: /usr/bin/jupyter-notebook is missing after installing jupyter-notebook"; return 1; }
  cg_env jupyter "COMPGRID_JUPYTER=/usr/bin/jupyter-notebook"
  cg_log "jupyter-notebook $(/usr/bin/jupyter-notebook --version 2>/dev/null) available"
}

stop() { rm -f "$COMPGRID_STATE/env/jupyter.env"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
