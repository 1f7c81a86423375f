#!/usr/bin/env bash
# Writes to stdout a root filesystem tar made from Debian's busybox-static: the applet links,
# /etc/passwd and /etc/group with root and nobody. `berth import - busybox` turns it into the busybox image.
set -euo pipefail
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkbusybox: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
root=$(mktemp -d /tmp/berth-busybox.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,home,var/www,www,run}
chmod 755 "$root"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - .
