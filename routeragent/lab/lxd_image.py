"""A tiny LXD container image from the machine's busybox-static, built without any download.

The lab's LXD host (``routeragent lab up --lxd``) and the LXD interop tests need containers
that boot in a fraction of a second, take their IPv4 address from OVN's DHCP (LXD hands the
NIC's ``ipv4.address`` to OVN as a static lease) and answer a ping and a TCP connection. The
image is LXD's "unified" tarball: ``metadata.yaml`` next to ``rootfs/``, about 1 MB.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from pathlib import Path

BUSYBOX = Path("/bin/busybox")

INITTAB = """\
::sysinit:/etc/init.d/rcS
::respawn:/bin/sleep 2147483647
::ctrlaltdel:/bin/true
::shutdown:/bin/true
"""

# eth0 up, DHCPv4 in the background (OVN answers with the NIC's ipv4.address), and a static
# IPv6 address from /etc/ipv6 if one was pushed there (busybox has no DHCPv6 client; the default
# route comes from OVN's router advertisements); an HTTP-ish answer (its name) on port 8080
RCS = """\
#!/bin/sh
mount -t tmpfs tmpfs /tmp 2>/dev/null
ip link set lo up
if [ -d /sys/class/net/eth0 ]; then
  ip link set eth0 up
  udhcpc -i eth0 -b -t 5 -T 1 -A 2 -s /usr/share/udhcpc/default.script >/dev/null 2>&1
  [ -f /etc/ipv6 ] && ip -6 addr add "$(cat /etc/ipv6)" dev eth0
fi
nc -ll -p 8080 -e /bin/hostname >/dev/null 2>&1 &
exit 0
"""

UDHCPC = """\
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    ;;
esac
exit 0
"""

DIRS = (
    "rootfs",
    "rootfs/bin",
    "rootfs/sbin",
    "rootfs/etc",
    "rootfs/etc/init.d",
    "rootfs/proc",
    "rootfs/sys",
    "rootfs/dev",
    "rootfs/tmp",
    "rootfs/root",
    "rootfs/run",
    "rootfs/usr",
    "rootfs/usr/share",
    "rootfs/usr/share/udhcpc",
)


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = int(time.time())
    return info


def _file(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = _entry(name, mode=mode)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = _entry(name, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    tar.addfile(info)


def build_busybox_image(out: Path) -> Path:
    """Write ``out`` (a .tar.gz LXD image) and return it; well under a second."""
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    metadata = (
        "architecture: x86_64\n"
        f"creation_date: {int(time.time())}\n"
        "properties:\n"
        "  description: busybox-static, built by routeragent lab\n"
        "  os: busybox\n"
        "  release: lab\n"
    )
    with tarfile.open(out, "w:gz") as tar:
        _file(tar, "metadata.yaml", metadata)
        for d in DIRS:
            tar.addfile(_entry(d, tarfile.DIRTYPE, 0o755))
        tar.add(str(BUSYBOX), "rootfs/bin/busybox")
        for applet in applets:
            if applet != "busybox":
                _link(tar, f"rootfs/bin/{applet}", "busybox")
        _link(tar, "rootfs/sbin/init", "../bin/busybox")
        _file(tar, "rootfs/etc/inittab", INITTAB)
        _file(tar, "rootfs/etc/init.d/rcS", RCS, 0o755)
        _file(tar, "rootfs/usr/share/udhcpc/default.script", UDHCPC, 0o755)
        _file(tar, "rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _file(tar, "rootfs/etc/group", "root:x:0:\n")
    return out
