#!/usr/bin/env bash
# A real SMTP server for the e-mail notifier's tests: postfix's smtp-sink on 127.0.0.1 (first free port from 2525),
# writing every message it receives to $COMPGRID_STATE/smtp/mail (one file per message, `-d`). Only the smtp-sink
# program is used: the postfix package is installed with "No configuration", so no system mail server starts.
# Writes $COMPGRID_STATE/env/smtp.env: COMPGRID_SMTP_HOST, COMPGRID_SMTP_PORT, COMPGRID_SMTP_MAILDIR.
#   eng/backends/smtp.sh start|stop
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

dir="$COMPGRID_STATE/smtp"
mail="$dir/mail"
sink=/usr/sbin/smtp-sink

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if [ ! -x "$sink" ]; then
    # Without this answer, the package's postinst would configure and start a system-wide postfix on port 25.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    cg_apt_install postfix
  fi
  [ -x "$sink" ] || { cg_log "smtp: $sink is missing after installing postfix"; return 1; }
  mkdir -p "$mail"
  local port
  if cg_running smtp && [ -f "$dir/port" ]; then
    port="$(cat "$dir/port")"
  else
    port=2525
    while ! port_free "$port"; do port=$((port + 1)); done
    echo "$port" >"$dir/port"
    # -u: the unprivileged user smtp-sink drops to when started as root; -d: one file per message (%Y%m%d%H/%M.)
    # under the mail folder; -h: the host name it announces; 64 is the connection backlog.
    [ "$(id -u)" = 0 ] && chown nobody: "$mail"
    cg_start smtp "$sink" -u nobody -h compgrid-test-smtp -d "$mail/%M." "127.0.0.1:$port" 64
  fi
  cg_wait_for "smtp-sink on port $port" 30 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && exit 1 || exit 0"
  cg_alive "$(cat "$COMPGRID_STATE/run/smtp.pid")" || { cg_log "smtp: smtp-sink exited, see $COMPGRID_STATE/log/smtp.log"; return 1; }
  cg_env smtp "COMPGRID_SMTP_HOST=127.0.0.1" "COMPGRID_SMTP_PORT=$port" "COMPGRID_SMTP_MAILDIR=$mail"
  cg_log "smtp-sink listening on 127.0.0.1:$port, mail in $mail"
}

stop() {
  cg_stop smtp 10
  rm -f "$COMPGRID_STATE/env/smtp.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
