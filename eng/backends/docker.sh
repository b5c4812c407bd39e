#!/usr/bin/env bash
# Two test Docker engines for CompGrid.Docker's tests, standing for two hosts of a lab pool.
#
#   docker.sh start            install docker.io + busybox-static if missing, start engine 1 and 2, import the test image
#   docker.sh stop             remove the test containers, then stop both engines (and their containerd) by pid
#   docker.sh start-engine N   start engine N only (used by the tests that restart an engine)
#   docker.sh stop-engine N    stop engine N only, leaving its containers running (live-restore)
#
# Each engine has its own data root, exec root, pid file and unix socket under $COMPGRID_STATE/docker/engineN/ and
# binds no TCP port. Both run with --bridge=none --iptables=false (two daemons cannot share docker0, and the tests
# must not touch the host firewall), so containers get only `lo`. --live-restore keeps containers running while a
# daemon restarts, as a production engine would be configured. No registry is needed: the image compgrid/busybox:test
# is imported from a rootfs made of busybox-static.
#
# Writes $COMPGRID_STATE/env/docker.env: COMPGRID_DOCKER_HOST_1, COMPGRID_DOCKER_HOST_2, COMPGRID_DOCKER_IMAGE,
# COMPGRID_DOCKER_CONTROL (this script) and COMPGRID_DOCKER_STATE (the state directory it uses).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

base="$COMPGRID_STATE/docker"
image="compgrid/busybox:test"
docker_cli=/usr/bin/docker # the Debian CLI matching the daemon (a newer one may sit earlier on PATH)

sock() { echo "$base/engine$1/docker.sock"; }
cli() { local n="$1"; shift; DOCKER_HOST="unix://$(sock "$n")" "$docker_cli" "$@"; }

start_engine() {
  local n="$1" dir="$base/engine$1"
  mkdir -p "$dir/root" "$dir/exec"
  if ! cg_running "docker$n"; then
    rm -f "$(sock "$n")"
    cg_start "docker$n" dockerd \
      --data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
      -H "unix://$(sock "$n")" --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
      --live-restore --cgroup-parent "/compgrid-docker$n" --log-driver json-file --userland-proxy=false
  fi
  cg_wait_for "docker engine $n" 30 cli "$n" version || { tail -n 20 "$COMPGRID_STATE/log/docker$n.log" >&2; return 1; }
}

stop_engine() {
  local n="$1"
  cg_stop "docker$n" 20
}

make_image() {
  local n="$1"
  cli "$n" image inspect "$image" >/dev/null 2>&1 && return 0
  local rootfs="$base/rootfs" tarball="$base/rootfs.tar"
  if [ ! -f "$tarball" ]; then
    rm -rf "$rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/work"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in $("$rootfs/bin/busybox" --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    chmod 1777 "$rootfs/tmp"
    tar -C "$rootfs" -cf "$tarball" .
  fi
  cli "$n" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$tarball" "$image" >/dev/null
}

remove_test_containers() {
  local n="$1" ids
  cg_running "docker$n" || return 0
  ids=$(cli "$n" ps -aq 2>/dev/null || true)
  [ -n "$ids" ] && cli "$n" rm -f -v $ids >/dev/null 2>&1 || true
}

stop_containerd() { # the daemon's own containerd can outlive it (live-restore); stop it by its pid file
  local n="$1" f="$base/engine$1/exec/containerd/containerd.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if cg_alive "$pid" && grep -q containerd "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i=0
    while cg_alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    cg_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

unmount_leftovers() { # live-restore keeps dockerd's bind mount of its data root across restarts; drop what is left
  local m
  for m in $(awk -v b="$base/" 'index($2, b) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

case "${1:-}" in
  start)
    if ! { command -v dockerd >/dev/null && [ -x /bin/busybox ] && [ -x "$docker_cli" ]; }; then
      # Another apt/dpkg run may hold the lock for a while: retry a few times before giving up.
      for attempt in 1 2 3; do
        cg_apt_install docker.io busybox-static && break
        [ "$attempt" = 3 ] && exit 1
        cg_log "apt-get failed (attempt $attempt); retrying in 10 s"; sleep 10
      done
    fi
    mkdir -p "$base"
    start_engine 1
    start_engine 2
    make_image 1
    make_image 2
    cg_env docker \
      "COMPGRID_DOCKER_HOST_1=unix://$(sock 1)" \
      "COMPGRID_DOCKER_HOST_2=unix://$(sock 2)" \
      "COMPGRID_DOCKER_IMAGE=$image" \
      "COMPGRID_DOCKER_CONTROL=$(cd "$(dirname "$0")" && pwd)/docker.sh" \
      "COMPGRID_DOCKER_STATE=$COMPGRID_STATE"
    cg_log "docker engines up: $(sock 1) $(sock 2)"
    ;;
  stop)
    for n in 1 2; do remove_test_containers "$n"; done
    for n in 1 2; do stop_engine "$n"; stop_containerd "$n"; done
    unmount_leftovers
    rm -f "$COMPGRID_STATE/env/docker.env"
    ;;
  start-engine) start_engine "${2:?engine number}" ;;
  stop-engine) stop_engine "${2:?engine number}" ;;
  *) echo "usage: $0 start|stop|start-engine N|stop-engine N" >&2; exit 2 ;;
esac
