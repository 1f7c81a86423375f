#!/usr/bin/env bash
# Fails when the test suites left something in the kernel or the process table: every test daemon uses names
# under /tmp/berth-*, bridges bt<hex>, nft tables berth_bt<hex>, cgroup parents berth-it-*/berth-test-*.
# The ports tests' outside client: netns berth-pt-<hex> with veths bp<hex>a/bp<hex>b.
# The macvlan tests' parents: veth pairs bm<hex>a/bm<hex>b (a sub-interface bm<hex>a.N where the kernel has 802.1q).
set -uo pipefail
left=""
m=$(awk '$2 ~ /^\/tmp\/berth-/ {print $2}' /proc/mounts | head -5); [ -n "$m" ] && left+=$'\nmounts:\n'"$m"
l=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(bt[0-9a-f]{6}|bn[0-9a-f]+|vb[0-9a-f]{10}|br-[0-9a-f]{12}|bp[0-9a-f]{6}[ab]|bm[0-9a-f]{6}[ab](\.[0-9]+)?)(@|$)' | head -8); [ -n "$l" ] && left+=$'\nlinks:\n'"$l"
t=$(nft list tables 2>/dev/null | grep -E 'berth_bt|berth-test|berthtest' | head -5); [ -n "$t" ] && left+=$'\nnft tables:\n'"$t"
n=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^berth-pt-' | head -5); [ -n "$n" ] && left+=$'\nnetns:\n'"$n"
c=$(find /sys/fs/cgroup -maxdepth 3 -type d \( -name 'berth-it-*' -o -name 'berth-test-*' \) 2>/dev/null | head -5); [ -n "$c" ] && left+=$'\ncgroups:\n'"$c"
p=$(ps -eo pid,args | grep -E 'berthd|berth-shim|berth-registry|runc ' | grep -E '/tmp/berth-' | grep -v grep | head -5); [ -n "$p" ] && left+=$'\nprocesses:\n'"$p"
r=$(ls -d /berth-race-* /tmp/berth-race-* 2>/dev/null | head -5); [ -n "$r" ] && left+=$'\nfiles of the cp race tests (escaped onto the host):\n'"$r"
s=$(ls -d /tmp/tmux-*/berth-it-* 2>/dev/null | head -5); [ -n "$s" ] && left+=$'\ntmux sockets of the interactive tests:\n'"$s"
if [ -n "$left" ]; then
  echo "leftovers from the tests:$left"
  exit 1
fi
echo "no leftovers: mounts, links, nft tables, cgroups and processes of the tests are gone"
