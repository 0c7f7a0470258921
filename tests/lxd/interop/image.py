"""A tiny LXD container image built from the host's busybox-static, with no download.

The tests need containers that boot in a fraction of a second, take their IPv4 address from
OVN's DHCP (LXD hands the NIC's ``ipv4.address`` to OVN as a static lease) and can answer a
ping and a TCP connection. Debian's ``busybox-static`` gives all of that in one binary; the
image is LXD's "unified" tarball: ``metadata.yaml`` next to ``rootfs/``.
"""

from __future__ import annotations

import io
import shutil
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

# eth0 up, DHCPv4 in the background (OVN answers with the NIC's ipv4.address), and the static
# IPv6 address from /etc/ipv6 when the test pushed one: busybox has no DHCPv6 client (the
# default route comes from OVN's router advertisements).
RCS = """\
#!/bin/sh
mount -t tmpfs tmpfs /tmp 2>/dev/null
ip link set lo up
if [ -d /sys/class/net/eth0 ]; then
  ip link set eth0 up
  udhcpc -i eth0 -b -t 5 -T 1 -A 2 -s /usr/share/udhcpc/default.script >/dev/null 2>&1
  [ -f /etc/ipv6 ] && ip -6 addr add "$(cat /etc/ipv6)" dev eth0
fi
# answers every TCP connection on port 8080 with the container's name
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


def _add_file(tar: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = int(time.time())
    tar.addfile(info)


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mtime = int(time.time())
    tar.addfile(info)


def busybox_available() -> bool:
    return BUSYBOX.is_file() and shutil.which("busybox") is not None


def build_busybox_image(out: Path) -> Path:
    """Write ``out`` (a .tar.gz LXD image); about 1 MB, well under a second."""
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.split()
    metadata = (
        "architecture: x86_64\n"
        f"creation_date: {int(time.time())}\n"
        "properties:\n"
        "  description: busybox-static, built by tests/lxd\n"
        "  os: busybox\n"
        "  release: test\n"
    )
    with tarfile.open(out, "w:gz") as tar:
        _add_file(tar, "metadata.yaml", metadata)
        for d in (
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
        ):
            _add_dir(tar, d)
        tar.add(str(BUSYBOX), "rootfs/bin/busybox")
        for applet in applets:
            if applet != "busybox":
                _add_link(tar, f"rootfs/bin/{applet}", "busybox")
        _add_link(tar, "rootfs/sbin/init", "../bin/busybox")
        _add_file(tar, "rootfs/etc/inittab", INITTAB)
        _add_file(tar, "rootfs/etc/init.d/rcS", RCS, 0o755)
        _add_file(tar, "rootfs/usr/share/udhcpc/default.script", UDHCPC, 0o755)
        _add_file(tar, "rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        _add_file(tar, "rootfs/etc/group", "root:x:0:\n")
    return out
