#!/usr/bin/env bash
# Network namespaces for the agent tests (tests/CompGrid.Agents.Tests): the tests create their own namespaces and
# veth links and remove them; this only checks that the machine allows it (root, iproute2) and says so.
# Writes $COMPGRID_STATE/env/agents.env: COMPGRID_NETNS=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"

start() {
  if [ "$(id -u)" -ne 0 ]; then cg_log "agents: network namespaces need root"; return 1; fi
  command -v ip >/dev/null 2>&1 || cg_apt_install iproute2
  local probe="cgprobe-$$"
  ip netns add "$probe" && ip netns delete "$probe" || { cg_log "agents: ip netns does not work here"; return 1; }
  cg_env agents "COMPGRID_NETNS=1"
}

stop() { :; }

"${1:-start}"
