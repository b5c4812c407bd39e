#!/usr/bin/env bash
# PowerShell 7.6.9 for the module's tests: the `PowerShell` dotnet tool (a real pwsh on this machine's .NET; Debian 12
# has no powershell package and PSGallery is not reachable, so no Pester: the tests assert on pwsh output from xunit).
# Nothing runs in the background: `start` installs the tool if missing and writes $COMPGRID_STATE/env/powershell.env
# (COMPGRID_PWSH, the pwsh path); `stop` removes that file.
#   eng/backends/powershell.sh start|stop
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

version=7.6.9
tools="${DOTNET_TOOLS_DIR:-$HOME/.dotnet/tools}"

start() {
  local pwsh="$tools/pwsh"
  if [ ! -x "$pwsh" ] || ! "$pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -qx "$version"; then
    cg_log "installing PowerShell $version (dotnet tool)"
    dotnet tool update -g PowerShell --version "$version" >"$COMPGRID_STATE/log/powershell-install.log" 2>&1 \
      || { cg_log "powershell: dotnet tool install failed, see $COMPGRID_STATE/log/powershell-install.log"; return 1; }
  fi
  "$pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' | grep -qx "$version" \
    || { cg_log "powershell: $pwsh is not PowerShell $version"; return 1; }
  cg_env powershell "COMPGRID_PWSH=$pwsh"
  cg_log "pwsh $version at $pwsh"
}

stop() { rm -f "$COMPGRID_STATE/env/powershell.env"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
