#!/usr/bin/env bash
# Second test Slurm cluster: Slurm 24.11 from a Debian 13 (trixie) rootfs, beside the 22.05 one of slurm.sh.
# munge, MariaDB, slurmdbd, slurmctld, three slurmd (t1-t3), slurmrestd (JWT) and sshd run chrooted into the rootfs,
# each in its own private mount namespace (unshare -m) that binds this checkout's state, /run, /tmp, /proc, /sys and
# /dev into the rootfs: the mounts vanish with the process, and this cluster's munge socket, configuration and ports
# never meet the 22.05 cluster's.
#
#   eng/backends/slurm24.sh start        build the rootfs if missing (cached), start (idempotent), verify, env/slurm24.env
#   eng/backends/slurm24.sh stop         cancel jobs, stop every daemon by pid
#   eng/backends/slurm24.sh stop-ctld    stop slurmctld only (tests: "controller restart loses no job")
#   eng/backends/slurm24.sh start-ctld   start slurmctld again and wait until it answers
#   eng/backends/slurm24.sh exec CMD...  run a command (sacct, scontrol ...) inside the rootfs against this cluster
#
# The rootfs is built once per machine under /var/cache/compgrid-slurm24 (COMPGRID_SLURM24_CACHE) with debootstrap from
# the mirror the host's apt sources name, and shared read-mostly by every checkout; each checkout's state lives under
# $COMPGRID_STATE/slurm24, bound into the rootfs at the same path so the host and the daemons see the same file names.
# Layout: partitions debug (t1-t3, default) and gpu (t1,t2); every node has 2 CPUs, 4000 MB and two fake GPUs.
# Accounts research and physics; users root and cgtest. Ports (defaults): slurmctld 6917, slurmdbd 6919, MariaDB
# 33161, slurmrestd 6920, sshd 2322, slurmd 17101-17103.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
. "$here/../slurm-conf.sh"

CACHE="${COMPGRID_SLURM24_CACHE:-/var/cache/compgrid-slurm24}"
R="$CACHE/rootfs"
ROOTFS_MARK="$R/.compgrid-rootfs-1"
S="$COMPGRID_STATE/slurm24"
LOG="$COMPGRID_STATE/log"
CONF="$S/etc/slurm.conf"
unset SLURM_JWT || true

CTLD_PORT="${COMPGRID_SLURM24_CTLD_PORT:-6917}"
DBD_PORT="${COMPGRID_SLURM24_DBD_PORT:-6919}"
DB_PORT="${COMPGRID_SLURM24_DB_PORT:-33161}"
REST_PORT="${COMPGRID_SLURM24_REST_PORT:-6920}"
SSH_PORT="${COMPGRID_SLURM24_SSH_PORT:-2322}"
NODE_PORT_BASE="${COMPGRID_SLURM24_NODE_PORT_BASE:-17100}"
NODES=(t1 t2 t3)
TEST_USER=cgtest
REST_USER=slurmrest
PACKAGES=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd slurmrestd slurm-wlm-jwt-plugin
  openssh-server openssh-client procps)

mirror() {
  local uri
  uri="$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# The mounts every command in the rootfs gets; run by bash inside a fresh private mount namespace.
# shellcheck disable=SC2016
MOUNTS='set -e
R="$1"; S="$2"; shift 2
mount --make-rprivate /
mkdir -p "$R$S"
mount --bind "$S" "$R$S"
mount --bind "$S/root-run" "$R/run"
mount --bind "$S/root-tmp" "$R/tmp"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
cd /
exec chroot "$R" "$@"'

# in_root CMD...: runs CMD in the rootfs (a fresh namespace; its mounts end with it).
in_root() {
  unshare -m bash -c "$MOUNTS" cg-slurm24 "$R" "$S" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    SLURM_CONF="$CONF" HOME=/root LANG=C.UTF-8 "$@"
}

# start_in_root NAME CMD...: a daemon in the rootfs, started with cg_start (pid file, log); setsid and unshare exec,
# so the recorded pid is the daemon's own.
start_in_root() {
  local name="$1"; shift
  cg_start "$name" unshare -m bash -c "$MOUNTS" cg-slurm24 "$R" "$S" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    SLURM_CONF="$CONF" HOME=/root LANG=C.UTF-8 "$@"
}

build_rootfs() {
  [ -f "$ROOTFS_MARK" ] && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/lock"
  flock 9
  [ -f "$ROOTFS_MARK" ] && return 0
  local t0=$SECONDS tmp="$CACHE/rootfs.tmp"
  cg_apt_install debootstrap
  if [ ! -f "$tmp/.compgrid-debootstrapped" ]; then
    rm -rf "$tmp"
    cg_log "debootstrap trixie into $tmp (from $(mirror))"
    debootstrap --variant=minbase trixie "$tmp" "$(mirror)" >"$LOG/slurm24-debootstrap.log" 2>&1 \
      || { cg_log "debootstrap failed, see $LOG/slurm24-debootstrap.log"; return 1; }
    touch "$tmp/.compgrid-debootstrapped"
  fi
  # Package scripts must not start services in the rootfs.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"; chmod 755 "$tmp/usr/sbin/policy-rc.d"
  cg_log "installing Slurm 24.11 packages into the rootfs"
  unshare -m bash -c 'set -e; mount --make-rprivate /; mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"
    exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 bash -c "
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $2 && apt-get clean
      id slurmrest >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin slurmrest
      id cgtest >/dev/null 2>&1 || useradd -m -s /bin/bash cgtest
      usermod -p \"*\" cgtest"' cg-rootfs "$tmp" "${PACKAGES[*]}" >"$LOG/slurm24-rootfs-apt.log" 2>&1 \
    || { cg_log "package install in the rootfs failed, see $LOG/slurm24-rootfs-apt.log"; return 1; }
  # MariaDB and Slurm resolve the host name; debootstrap leaves no hosts file.
  cp /etc/hosts "$tmp/etc/hosts"
  mv "$tmp" "$R"
  touch "$ROOTFS_MARK"
  cg_log "rootfs ready in $((SECONDS - t0)) s ($(in_root_version))"
}

in_root_version() { chroot "$R" /usr/sbin/slurmctld -V 2>/dev/null || echo "slurm ?"; }

write_configs() {
  mkdir -p "$S"/{etc,state,spool,dev,jobs,munge,mysql,ssh,log,run,root-run,root-tmp}
  chmod 755 "$S" "$S/etc" "$S/root-run"; chmod 1777 "$S/jobs" "$S/root-tmp"
  [ -s "$S/munge/munge.key" ] || dd if=/dev/urandom bs=1 count=1024 of="$S/munge/munge.key" 2>/dev/null
  [ -s "$S/etc/jwt_hs256.key" ] || dd if=/dev/urandom bs=32 count=1 of="$S/etc/jwt_hs256.key" 2>/dev/null
  for g in 0 1; do [ -c "$S/dev/nvidia$g" ] || mknod "$S/dev/nvidia$g" c 1 3; done
  [ -s "$S/etc/dbpass" ] || head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$S/etc/dbpass"
  chmod 600 "$S/etc/dbpass"
  local dbpass; dbpass="$(cat "$S/etc/dbpass")"
  local last=$((${#NODES[@]}))

  cg_slurm_configs slurm24.sh compgrid24 "t[1-$last]" "$last" "t[1-2]" "$dbpass"
  chmod 644 "$CONF" "$S/etc/gres.conf" "$S/etc/cgroup.conf"
  # The service users are the rootfs's (their ids differ from the host's): chown inside it.
  in_root bash -c "set -e; chown slurm: '$S/state' '$S/log' '$S/run' '$S/etc/jwt_hs256.key' '$S/etc/slurmdbd.conf'
    chmod 600 '$S/etc/jwt_hs256.key' '$S/etc/slurmdbd.conf'
    chown munge: '$S/munge' '$S/munge/munge.key'; chmod 711 '$S/munge'; chmod 400 '$S/munge/munge.key'
    mkdir -p '$S/munge/run' /run/munge /run/sshd; chown munge: '$S/munge/run' /run/munge; chmod 755 '$S/munge/run' /run/munge"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_munge() {
  start_in_root slurm24-munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F \
    --key-file="$S/munge/munge.key" --socket=/run/munge/munge.socket.2 \
    --pid-file="$S/munge/run/munged.pid" --log-file="$S/munge/run/munged.log" --seed-file="$S/munge/run/munged.seed"
  cg_wait_for munge 10 test -S "$S/root-run/munge/munge.socket.2"
}

start_mariadb() {
  # The host's MariaDB (10.11), not the rootfs's 11.8: slurmdbd 24.11.5 with trixie's libmariadb 3.4 and server 11.8
  # fails its first query ("5027 Number of columns in result (=1) ... exceeds maximum allowed number of columns (=0)").
  # It is this cluster's own instance (datadir under $S, its own port); slurmdbd reaches it over TCP.
  mkdir -p "$S/mysql/run"; chown mysql: "$S/mysql" "$S/mysql/run"
  if [ ! -d "$S/mysql/data/mysql" ]; then
    mariadb-install-db --no-defaults --user=mysql --datadir="$S/mysql/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$LOG/slurm24-mariadb-install.log" 2>&1
  fi
  cg_start slurm24-mariadb /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$S/mysql/data" \
    --socket="$S/mysql/run/mysqld.sock" --pid-file="$S/mysql/run/mysqld.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 --skip-name-resolve
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

start_slurmdbd() {
  start_in_root slurm24-slurmdbd /usr/sbin/slurmdbd -D
  cg_wait_for slurmdbd 30 port_open "$DBD_PORT"
}

start_ctld() {
  start_in_root slurm24-slurmctld /usr/sbin/slurmctld -D -i
  cg_wait_for slurmctld 30 in_root scontrol ping
}

nodes_in() { in_root sinfo -h -N -p debug -t "$1" -o %N | sort -u | wc -l; }

start_nodes() {
  local n
  for n in "${NODES[@]}"; do
    mkdir -p "$S/spool/$n"
    start_in_root "slurm24-slurmd-$n" /usr/sbin/slurmd -D -N "$n"
  done
  local want=${#NODES[@]}
  cg_wait_for "${want} slurmd" 30 bash -c "[ \"\$(\"$here/slurm24.sh\" exec sinfo -h -N -p debug -t idle,mixed,alloc,drain -o %N | sort -u | wc -l)\" -ge $want ]"
  if in_root sinfo -h -N -t drain,down -o %N | grep -q .; then
    in_root scontrol update nodename="t[1-$want]" state=resume 2>/dev/null || true
  fi
  cg_wait_for "nodes idle" 30 bash -c "[ \"\$(\"$here/slurm24.sh\" exec sinfo -h -N -p debug -t idle,mixed,alloc -o %N | sort -u | wc -l)\" -ge $want ]"
}

add_associations() {
  in_root bash -c "
    sacctmgr -i add cluster compgrid24 >/dev/null 2>&1
    sacctmgr -i add account research Description=research Organization=compgrid >/dev/null 2>&1
    sacctmgr -i add account physics parent=research Description=physics Organization=compgrid >/dev/null 2>&1
    sacctmgr -i add user root account=research >/dev/null 2>&1
    sacctmgr -i add user $TEST_USER account=research >/dev/null 2>&1
    sacctmgr -i add user $TEST_USER account=physics >/dev/null 2>&1
    true"
  cg_wait_for "associations" 10 bash -c "\"$here/slurm24.sh\" exec sacctmgr -n -P show assoc users=$TEST_USER format=account | grep -q physics"
}

start_rest() {
  # slurmrestd 24.11 refuses root and SlurmUser; SLURM_JWT=daemon lets it use munge towards slurmctld while
  # clients authenticate with their tokens.
  start_in_root slurm24-slurmrestd env SLURM_JWT=daemon /usr/sbin/slurmrestd -a rest_auth/jwt -u "$REST_USER" \
    "127.0.0.1:$REST_PORT"
  cg_wait_for slurmrestd 15 port_open "$REST_PORT"
}

start_sshd() {
  local d="$S/ssh"
  cg_slurm_sshd_files compgrid-test24
  in_root /usr/sbin/sshd -t -f "$d/sshd_config"
  start_in_root slurm24-sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
  cg_wait_for sshd 10 port_open "$SSH_PORT"
}

verify() {
  local token out
  token="$(in_root scontrol token username=root lifespan=172800 | sed -n 's/^SLURM_JWT=//p')"
  [ -n "$token" ] || { cg_log "scontrol token failed"; return 1; }
  printf '%s' "$token" >"$S/etc/root.jwt"; chmod 600 "$S/etc/root.jwt"
  out="$(curl -sf -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $token" "http://127.0.0.1:$REST_PORT/slurm/v0.0.42/ping")" \
    || { cg_log "slurmrestd ping failed"; return 1; }
  echo "$out" | grep -q '"UP"' || { cg_log "slurmrestd ping: $out"; return 1; }
  out="$(ssh -p "$SSH_PORT" -i "$S/ssh/client_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$S/ssh/known_hosts" -o IdentitiesOnly=yes -o ConnectTimeout=5 "$TEST_USER@127.0.0.1" sinfo -h -o %P 2>&1)" \
    || { cg_log "ssh check failed: $out"; return 1; }
  echo "$out" | grep -q gpu || { cg_log "ssh sinfo: $out"; return 1; }
}

write_env() {
  cg_env slurm24 \
    "COMPGRID_SLURM24_CONF=$CONF" \
    "COMPGRID_SLURM24_SCRIPT=$here/slurm24.sh" \
    "COMPGRID_SLURM24_STATE=$COMPGRID_STATE" \
    "COMPGRID_SLURM24_RELEASE=$(in_root_version | awk '{print $2}')" \
    "COMPGRID_SLURM24_REST_URL=http://127.0.0.1:$REST_PORT" \
    "COMPGRID_SLURM24_REST_TOKEN_FILE=$S/etc/root.jwt" \
    "COMPGRID_SLURM24_JWT_KEY_FILE=$S/etc/jwt_hs256.key" \
    "COMPGRID_SLURM24_SSH_HOST=127.0.0.1" \
    "COMPGRID_SLURM24_SSH_PORT=$SSH_PORT" \
    "COMPGRID_SLURM24_SSH_USER=$TEST_USER" \
    "COMPGRID_SLURM24_SSH_KEY=$S/ssh/client_ed25519" \
    "COMPGRID_SLURM24_SSH_KNOWN_HOSTS=$S/ssh/known_hosts" \
    "COMPGRID_SLURM24_JOBS_DIR=$S/jobs" \
    "COMPGRID_SLURM24_ACCOUNT=research"
}

start() {
  local t0=$SECONDS
  cg_apt_install openssh-client curl mariadb-server
  build_rootfs
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
  cg_log "slurm 24.11 cluster up in $((SECONDS - t0)) s (conf $CONF)"
}

stop() {
  if cg_running slurm24-slurmctld; then
    in_root scancel --full --quiet --user=root 2>/dev/null || true
    in_root scancel --full --quiet --user="$TEST_USER" 2>/dev/null || true
    local i=0
    while [ $i -lt 30 ] && in_root squeue -h -o %i 2>/dev/null | grep -q .; do sleep 0.2; i=$((i + 1)); done
  fi
  cg_stop slurm24-sshd 5
  cg_stop slurm24-slurmrestd 5
  local k
  for ((k = ${#NODES[@]} - 1; k >= 0; k--)); do cg_stop "slurm24-slurmd-${NODES[$k]}" 10; done
  cg_stop slurm24-slurmctld 15
  cg_stop slurm24-slurmdbd 10
  cg_stop slurm24-mariadb 20
  cg_stop slurm24-munged 5
  rm -f "$COMPGRID_STATE/env/slurm24.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  stop-ctld) cg_stop slurm24-slurmctld 15 ;;
  start-ctld) start_ctld ;;
  exec) shift; [ -f "$ROOTFS_MARK" ] || { echo "no rootfs at $R: run $0 start" >&2; exit 1; }; in_root "$@" ;;
  *) echo "usage: $0 start|stop|stop-ctld|start-ctld|exec CMD..." >&2; exit 2 ;;
esac
