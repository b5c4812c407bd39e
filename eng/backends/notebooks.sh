#!/usr/bin/env bash
# .NET Interactive notebooks for samples/notebooks: Debian's Jupyter (notebook, nbconvert, ipykernel), the
# `Microsoft.dotnet-interactive` 1.0.712001 dotnet tool and its C# kernel, and a local NuGet feed packed from this
# repository (eng/pack-feed.sh) that the notebooks load CompGrid from. Nothing runs in the background: `start` installs
# what is missing and writes $COMPGRID_STATE/env/notebooks.env (COMPGRID_JUPYTER_CLI, COMPGRID_NOTEBOOK_FEED);
# `stop` removes that file (the feed stays, for the next run).
#   eng/backends/notebooks.sh start|stop
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"

version=1.0.712001
tools="${DOTNET_TOOLS_DIR:-$HOME/.dotnet/tools}"
kernels="$HOME/.local/share/jupyter/kernels"

start() {
  cg_apt_install jupyter-notebook jupyter-nbconvert python3-ipykernel || return 1
  if ! "$tools/dotnet-interactive" --version 2>/dev/null | grep -q "^$version"; then
    cg_log "installing dotnet-interactive $version (dotnet tool)"
    dotnet tool update -g Microsoft.dotnet-interactive --version "$version" >"$COMPGRID_STATE/log/notebooks-install.log" 2>&1 \
      || { cg_log "notebooks: dotnet tool install failed, see $COMPGRID_STATE/log/notebooks-install.log"; return 1; }
  fi
  if [ ! -f "$kernels/.net-csharp/kernel.json" ]; then
    mkdir -p "$kernels"   # the installer fails without it
    PATH="$PATH:$tools" DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 "$tools/dotnet-interactive" jupyter install \
      >>"$COMPGRID_STATE/log/notebooks-install.log" 2>&1 || { cg_log "notebooks: kernel install failed"; return 1; }
  fi
  local feed
  feed="$(bash "$here/../pack-feed.sh")" || { cg_log "notebooks: packing the local feed failed"; return 1; }
  cg_env notebooks "COMPGRID_JUPYTER_CLI=$(command -v jupyter)" "COMPGRID_NOTEBOOK_FEED=$feed" "COMPGRID_DOTNET_TOOLS=$tools"
  cg_log "jupyter with the .net-csharp kernel; CompGrid packages in $feed"
}

stop() { rm -f "$COMPGRID_STATE/env/notebooks.env"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
