#!/usr/bin/env bash
# The test VM image for CompGrid.VirtualMachines: a Debian kernel (downloaded, not installed) and a busybox initramfs
# with qemu-ga on a virtio-serial port and busybox acpid for the ACPI power button, so a VM boots under TCG in
# 7-10 s, answers QMP, runs jobs through the guest agent and powers off on system_powerdown. Built once and cached
# under $COMPGRID_STATE/qemu/image (rebuilt when this script, the kernel or qemu-ga changes). No VM runs between
# tests: the tests boot it through the adapter (once per test run) and the adapter stops it by pid.
# Writes $COMPGRID_STATE/env/qemu.env: COMPGRID_QEMU_BINARY, COMPGRID_QEMU_KERNEL, COMPGRID_QEMU_INITRD,
# COMPGRID_QEMU_STATE (a short folder for the VMs' sockets and pid files).
#   eng/backends/qemu.sh start|stop
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

dir="$COMPGRID_STATE/qemu"
image="$dir/image"
vms="$dir/vms"
qemu=/usr/bin/qemu-system-x86_64
qga=/usr/sbin/qemu-ga

# The guest's /init. The marker line tells a reader of the serial log that the guest agent is up.
write_init() {
  cat >"$1" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /run /var/log /var/run /etc/acpi/PWRF /work
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in $(cat /modules.order); do insmod "/modules/$m" 2>/dev/null; done
printf '#!/bin/sh\npoweroff -f\n' >/etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -l /var/log/acpid.log
hostname "$(sed -n 's/.*compgrid.hostname=\([^ ]*\).*/\1/p' /proc/cmdline)"
port=""
for i in $(seq 1 50); do
  for p in /sys/class/virtio-ports/*; do
    [ -f "$p/name" ] && [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ] && port="/dev/$(basename "$p")"
  done
  [ -n "$port" ] && [ -e "$port" ] && break
  sleep 0.1
done
if [ -n "$port" ]; then
  qemu-ga -m virtio-serial -p "$port" -f /run/qemu-ga.pid -d
  echo "COMPGRID-VM-READY agent=$port"
else
  echo "COMPGRID-VM-READY agent=none"
fi
while true; do sleep 3600; done
EOF
  chmod 755 "$1"
}

kernel_version() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: linux-image-\(.*\)/\1/p' | head -n 1; }

build() {
  local kver="$1" work="$dir/build" deb="$dir/cache/linux-image-$1.deb"
  rm -rf "$work"; mkdir -p "$work/root" "$dir/cache"
  if [ ! -f "$deb" ]; then
    cg_log "qemu: downloading linux-image-$kver"
    mkdir -p "$work/deb"; chmod 777 "$work/deb" # apt-get download drops to _apt
    (cd "$work/deb" && apt-get download -q "linux-image-$kver" >"$COMPGRID_STATE/log/qemu-kernel.log" 2>&1) \
      || { cg_log "qemu: kernel download failed, see $COMPGRID_STATE/log/qemu-kernel.log"; return 1; }
    mv "$work"/deb/*.deb "$deb"
  fi
  dpkg-deb -x "$deb" "$work/kpkg"
  local mods="$work/kpkg/lib/modules/$kver" r="$work/root"
  [ -d "$mods" ] || { cg_log "qemu: no modules for $kver in $deb"; return 1; }
  mkdir -p "$r/bin" "$r/modules" "$r/usr/sbin"
  cp /bin/busybox "$r/bin/busybox"
  cp "$qga" "$r/usr/sbin/qemu-ga"
  local lib
  for lib in $(ldd "$qga" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"
  done
  # virtio_pci + virtio_console for the agent's port; button + evdev for the ACPI power button (acpid). The deb has
  # no modules.dep (depmod runs at install), so dependencies come from each module's depends= field, loaded first.
  : >"$r/modules.order"
  add_module() {
    local f d
    grep -qx "$1.ko" "$r/modules.order" && return 0
    f=$(find "$mods/kernel" -name "$1.ko" -o -name "$1.ko.xz" | head -n 1)
    [ -n "$f" ] || return 0 # built in
    if [[ "$f" == *.xz ]]; then xz -dc "$f" >"$r/modules/$1.ko"; else cp "$f" "$r/modules/$1.ko"; fi
    for d in $(strings "$r/modules/$1.ko" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$d"; done
    echo "$1.ko" >>"$r/modules.order"
  }
  local m
  for m in virtio_pci virtio_console button evdev; do add_module "$m"; done
  write_init "$r/init"
  cp "$work/kpkg/boot/vmlinuz-$kver" "$image/vmlinuz-$kver"
  (cd "$r" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$image/initramfs.cpio.gz.new")
  mv "$image/initramfs.cpio.gz.new" "$image/initramfs.cpio.gz"
  echo "$2" >"$image/key"
  rm -rf "$work"
}

start() {
  cg_apt_install qemu-system-x86 qemu-guest-agent busybox-static xz-utils binutils
  [ -x "$qemu" ] && [ -x "$qga" ] || { cg_log "qemu: $qemu or $qga is missing"; return 1; }
  mkdir -p "$image" "$vms"
  local kver key
  kver="$(kernel_version)"
  [ -n "$kver" ] || kver="$(ls "$image" 2>/dev/null | sed -n 's/^vmlinuz-//p' | head -n 1)"
  [ -n "$kver" ] || { cg_log "qemu: cannot tell the kernel version (apt-cache depends linux-image-amd64)"; return 1; }
  key="$kver $(sha256sum "$0" | cut -c1-16) $("$qga" --version | tr -d '\n')"
  if [ ! -f "$image/initramfs.cpio.gz" ] || [ ! -f "$image/vmlinuz-$kver" ] || [ "$(cat "$image/key" 2>/dev/null)" != "$key" ]; then
    cg_log "qemu: building the test VM image ($kver)"
    build "$kver" "$key" || return 1
  fi
  cg_env qemu "COMPGRID_QEMU_BINARY=$qemu" "COMPGRID_QEMU_KERNEL=$image/vmlinuz-$kver" \
    "COMPGRID_QEMU_INITRD=$image/initramfs.cpio.gz" "COMPGRID_QEMU_STATE=$vms"
  cg_log "qemu: test VM image ready in $image"
}

# Stops VMs a crashed test run left behind: each VM folder has the pid file QEMU wrote (-pidfile).
stop() {
  local f pid
  for f in "$vms"/*/qemu.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if cg_alive "$pid" && grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null; then
      cg_log "qemu: stopping leftover VM $pid ($f)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  rm -f "$COMPGRID_STATE/env/qemu.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
