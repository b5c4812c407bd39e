#!/usr/bin/env bash
# Test Slurm cluster for CompGrid.Slurm: munge, a private MariaDB, slurmdbd, slurmctld, four slurmd (n1-n4),
# accounts and users, slurmrestd with JWT and sshd with a key-only test user. Everything lives under
# $COMPGRID_STATE/slurm; every daemon is started with cg_start and stopped by its pid (see eng/lib.sh).
#
#   eng/backends/slurm.sh start        install what is missing, start (idempotent), verify, write env/slurm.env
#   eng/backends/slurm.sh stop         cancel jobs, stop every daemon by pid
#   eng/backends/slurm.sh stop-ctld    stop slurmctld only (tests: "controller restart loses no job")
#   eng/backends/slurm.sh start-ctld   start slurmctld again and wait until it answers
#
# Layout: partitions debug (n1-n4, default) and gpu (n1,n2); every node has 2 CPUs, 4000 MB and two fake GPUs
# (character devices standing in for /dev/nvidia*). Accounts research and physics (child of research); users
# root (research) and cgtest (research, physics). slurmrestd on 127.0.0.1:6820 (JWT), sshd on 127.0.0.1:2222.
# Facts and gotchas: docs/backends/slurm.md and the project's test-backends reference (§1-3, 5, 8).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
. "$here/../slurm-conf.sh"

S="$COMPGRID_STATE/slurm"
RUN="$COMPGRID_STATE/run"
LOG="$COMPGRID_STATE/log"
CONF="$S/etc/slurm.conf"
export SLURM_CONF="$CONF"
unset SLURM_JWT || true

CTLD_PORT="${COMPGRID_SLURM_CTLD_PORT:-6817}"
DBD_PORT="${COMPGRID_SLURM_DBD_PORT:-6819}"
DB_PORT="${COMPGRID_SLURM_DB_PORT:-33061}"
REST_PORT="${COMPGRID_SLURM_REST_PORT:-6820}"
SSH_PORT="${COMPGRID_SLURM_SSH_PORT:-2222}"
NODE_PORT_BASE="${COMPGRID_SLURM_NODE_PORT_BASE:-17000}"
TEST_USER=cgtest
REST_USER=slurmrest
PACKAGES=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd slurmrestd slurm-wlm-jwt-plugin mariadb-server
  openssh-server openssh-client curl)

install_packages() {
  # Other scripts may run apt at the same time on a shared machine: retry a few times.
  local i
  for i in 1 2 3 4; do
    cg_apt_install "${PACKAGES[@]}" && return 0
    cg_log "apt-get failed (attempt $i), retrying"
    sleep $((i * 5))
    rm -f "$COMPGRID_STATE/run/apt-updated"
  done
  return 1
}

ensure_users() {
  id "$REST_USER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$REST_USER"
  id "$TEST_USER" >/dev/null 2>&1 || useradd -M -s /bin/bash "$TEST_USER"
  # useradd leaves the account locked ('!'), which sshd refuses with UsePAM no.
  usermod -p '*' "$TEST_USER"
  # The home is machine-wide: a second cluster on this machine (another checkout) keeps the first one's while the
  # user can enter it; sshd reads the keys from $S/ssh, so sharing the home breaks neither.
  local home; home="$(getent passwd "$TEST_USER" | cut -d: -f6)"
  if [ -z "$home" ] || ! runuser -u "$TEST_USER" -- test -d "$home" -a -x "$home"; then
    mkdir -p "$S/home/$TEST_USER"; chown "$TEST_USER": "$S/home/$TEST_USER"; chmod 700 "$S/home/$TEST_USER"
    usermod -d "$S/home/$TEST_USER" "$TEST_USER"
  fi
}

write_configs() {
  mkdir -p "$S"/{etc,state,spool,dev,jobs,munge,mysql,ssh,home,log,run}
  chown slurm: "$S/state" "$S/log" "$S/run"
  chmod 755 "$S" "$S/etc"
  chmod 1777 "$S/jobs"
  # munge: key and socket directory owned by munge, not world-writable (munged checks).
  chown munge: "$S/munge"; chmod 700 "$S/munge"
  if [ ! -s "$S/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$S/munge/munge.key" 2>/dev/null
  fi
  chown munge: "$S/munge/munge.key"; chmod 400 "$S/munge/munge.key"
  mkdir -p "$S/munge/run"; chown munge: "$S/munge/run"; chmod 755 "$S/munge/run"
  chmod 711 "$S/munge"
  # JWT key (HS256) for slurmctld and slurmdbd; tests mint tokens with scontrol token and may use the key.
  if [ ! -s "$S/etc/jwt_hs256.key" ]; then
    dd if=/dev/urandom bs=32 count=1 of="$S/etc/jwt_hs256.key" 2>/dev/null
  fi
  chown slurm: "$S/etc/jwt_hs256.key"; chmod 600 "$S/etc/jwt_hs256.key"
  # Fake GPUs: slurmd only accepts character/block devices in gres.conf File=.
  for g in 0 1; do [ -c "$S/dev/nvidia$g" ] || mknod "$S/dev/nvidia$g" c 1 3; done
  [ -s "$S/etc/dbpass" ] || head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$S/etc/dbpass"
  chmod 600 "$S/etc/dbpass"
  local dbpass; dbpass="$(cat "$S/etc/dbpass")"
  

  cg_slurm_configs slurm.sh compgrid "n[1-4]" 4 "n[1-2]" "$dbpass"
  chown slurm: "$S/etc/slurmdbd.conf"; chmod 600 "$S/etc/slurmdbd.conf"
  chmod 644 "$CONF" "$S/etc/gres.conf" "$S/etc/cgroup.conf"
}

start_munge() {
  # Slurm 22.05 reaches munge through the default socket in places that ignore AuthInfo (slurmdbd connections),
  # so munged listens there; its key, pid and seed files stay under $S.
  install -d -m 755 -o munge -g munge /run/munge
  cg_start slurm-munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F \
    --key-file="$S/munge/munge.key" --socket=/run/munge/munge.socket.2 \
    --pid-file="$S/munge/run/munged.pid" --log-file="$S/munge/run/munged.log" --seed-file="$S/munge/run/munged.seed"
  cg_wait_for munge 10 test -S /run/munge/munge.socket.2
}

start_mariadb() {
  mkdir -p "$S/mysql/run"; chown mysql: "$S/mysql" "$S/mysql/run"
  if [ ! -d "$S/mysql/data/mysql" ]; then
    mariadb-install-db --no-defaults --user=mysql --datadir="$S/mysql/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$LOG/slurm-mariadb-install.log" 2>&1
  fi
  cg_start slurm-mariadb /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$S/mysql/data" \
    --socket="$S/mysql/run/mysqld.sock" --pid-file="$S/mysql/run/mysqld.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --innodb-buffer-pool-size=256M --innodb-lock-wait-timeout=900 --skip-name-resolve
  cg_wait_for mariadb 30 mariadb --no-defaults -S "$S/mysql/run/mysqld.sock" -u root -e 'select 1'
  local dbpass; dbpass="$(cat "$S/etc/dbpass")"
  mariadb --no-defaults -S "$S/mysql/run/mysqld.sock" -u root <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$dbpass';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$dbpass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOF
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_slurmdbd() {
  cg_start slurm-slurmdbd /usr/sbin/slurmdbd -D
  cg_wait_for slurmdbd 30 port_open "$DBD_PORT"
}

start_ctld() {
  cg_start slurm-slurmctld /usr/sbin/slurmctld -D -i
  cg_wait_for slurmctld 30 scontrol ping
}

start_nodes() {
  local n
  for n in 1 2 3 4; do
    mkdir -p "$S/spool/n$n"
    cg_start "slurm-slurmd-n$n" /usr/sbin/slurmd -D -N "n$n"
  done
  # A node drained on an earlier run (state file) comes back.
  cg_wait_for "4 slurmd" 30 bash -c '[ "$(sinfo -h -N -p debug -t idle,mixed,alloc,drain -o %N | sort -u | wc -l)" -ge 4 ]'
  if sinfo -h -N -t drain,down -o %N | grep -q .; then
    scontrol update nodename=n[1-4] state=resume 2>/dev/null || true
  fi
  cg_wait_for "nodes idle" 30 bash -c '[ "$(sinfo -h -N -p debug -t idle,mixed,alloc -o %N | sort -u | wc -l)" -ge 4 ]'
}

add_associations() {
  # Idempotent: sacctmgr -i add of an existing entity prints "Nothing new added" and exits non-zero.
  sacctmgr -i add cluster compgrid >/dev/null 2>&1 || true
  sacctmgr -i add account research Description=research Organization=compgrid >/dev/null 2>&1 || true
  sacctmgr -i add account physics parent=research Description=physics Organization=compgrid >/dev/null 2>&1 || true
  sacctmgr -i add user root account=research >/dev/null 2>&1 || true
  sacctmgr -i add user "$TEST_USER" account=research >/dev/null 2>&1 || true
  sacctmgr -i add user "$TEST_USER" account=physics >/dev/null 2>&1 || true
  cg_wait_for "associations" 10 bash -c "sacctmgr -n -P show assoc users=$TEST_USER format=account | grep -q physics"
}

start_rest() {
  # SLURM_JWT=daemon is mandatory (auth/munge refuses user tokens otherwise); root drops to -u after binding.
  cg_start slurm-slurmrestd env SLURM_JWT=daemon SLURM_CONF="$CONF" /usr/sbin/slurmrestd -a rest_auth/jwt \
    -u "$REST_USER" "127.0.0.1:$REST_PORT"
  cg_wait_for slurmrestd 15 port_open "$REST_PORT"
}

start_sshd() {
  local d="$S/ssh"
  cg_slurm_sshd_files compgrid-test
  install -d -m 755 /run/sshd
  /usr/sbin/sshd -t -f "$d/sshd_config"
  cg_start slurm-sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
  cg_wait_for sshd 10 port_open "$SSH_PORT"
}

ssh_args() {
  printf '%s\n' -p "$SSH_PORT" -i "$S/ssh/client_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$S/ssh/known_hosts" -o IdentitiesOnly=yes -o ConnectTimeout=5
}

verify() {
  local token out
  token="$(scontrol token username=root lifespan=172800 | sed -n 's/^SLURM_JWT=//p')"
  [ -n "$token" ] || { cg_log "scontrol token failed"; return 1; }
  printf '%s' "$token" >"$S/etc/root.jwt"; chmod 600 "$S/etc/root.jwt"
  out="$(curl -sf -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $token" "http://127.0.0.1:$REST_PORT/slurm/v0.0.38/ping")" \
    || { cg_log "slurmrestd ping failed"; return 1; }
  echo "$out" | grep -q '"UP"' || { cg_log "slurmrestd ping: $out"; return 1; }
  mapfile -t a < <(ssh_args)
  out="$(ssh "${a[@]}" "$TEST_USER@127.0.0.1" sinfo -h -o %P 2>&1)" || { cg_log "ssh check failed: $out"; return 1; }
  echo "$out" | grep -q gpu || { cg_log "ssh sinfo: $out"; return 1; }
}

write_env() {
  cg_env slurm \
    "COMPGRID_SLURM_CONF=$CONF" \
    "COMPGRID_SLURM_SCRIPT=$here/slurm.sh" \
    "COMPGRID_SLURM_STATE=$COMPGRID_STATE" \
    "COMPGRID_SLURM_REST_URL=http://127.0.0.1:$REST_PORT" \
    "COMPGRID_SLURM_REST_TOKEN_FILE=$S/etc/root.jwt" \
    "COMPGRID_SLURM_JWT_KEY_FILE=$S/etc/jwt_hs256.key" \
    "COMPGRID_SLURM_SSH_HOST=127.0.0.1" \
    "COMPGRID_SLURM_SSH_PORT=$SSH_PORT" \
    "COMPGRID_SLURM_SSH_USER=$TEST_USER" \
    "COMPGRID_SLURM_SSH_KEY=$S/ssh/client_ed25519" \
    "COMPGRID_SLURM_SSH_KNOWN_HOSTS=$S/ssh/known_hosts" \
    "COMPGRID_SLURM_JOBS_DIR=$S/jobs" \
    "COMPGRID_SLURM_ACCOUNT=research"
}

start() {
  local t0=$SECONDS
  install_packages
  ensure_users
  write_configs
  start_munge
  start_mariadb
  start_slurmdbd
  start_ctld
  start_nodes
  add_associations
  start_rest
  start_sshd
  verify
  write_env
  cg_log "slurm cluster up in $((SECONDS - t0)) s (conf $CONF)"
}

stop() {
  if cg_running slurm-slurmctld; then
    scancel --full --quiet --user=root 2>/dev/null || true
    scancel --full --quiet --user="$TEST_USER" 2>/dev/null || true
    # Give slurmd a moment to end the steps (slurmstepd must not outlive slurmd).
    local i=0
    while [ $i -lt 30 ] && squeue -h -o %i 2>/dev/null | grep -q .; do sleep 0.2; i=$((i + 1)); done
  fi
  cg_stop slurm-sshd 5
  cg_stop slurm-slurmrestd 5
  local n
  for n in 4 3 2 1; do cg_stop "slurm-slurmd-n$n" 10; done
  cg_stop slurm-slurmctld 15
  cg_stop slurm-slurmdbd 10
  cg_stop slurm-mariadb 20
  cg_stop slurm-munged 5
  rm -f "$COMPGRID_STATE/env/slurm.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  stop-ctld) cg_stop slurm-slurmctld 15 ;;
  start-ctld) start_ctld ;;
  *) echo "usage: $0 start|stop|stop-ctld|start-ctld" >&2; exit 2 ;;
esac
