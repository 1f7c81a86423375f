#!/usr/bin/env bash
# Fails when the test suites left something in the kernel or the process table: every test daemon uses names
# under /tmp/berth-*, bridges bt<hex>, nft tables berth_bt<hex>, cgroup parents berth-it-*/berth-test-*.
set -uo pipefail
left=""
m=$(awk '$2 ~ /^\/tmp\/berth-/ {print $2}' /proc/mounts | head -5); [ -n "$m" ] && left+=$'\nmounts:\n'"$m"
l=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(bt[0-9a-f]{6}|bn[0-9a-f]+|vb[0-9a-f]{10})(@|$)' | head -8); [ -n "$l" ] && left+=$'\nlinks:\n'"$l"
t=$(nft list tables 2>/dev/null | grep -E 'berth_bt|berth-test|berthtest' | head -5); [ -n "$t" ] && left+=$'\nnft tables:\n'"$t"
c=$(find /sys/fs/cgroup -maxdepth 3 -type d \( -name 'berth-it-*' -o -name 'berth-test-*' \) 2>/dev/null | head -5); [ -n "$c" ] && left+=$'\ncgroups:\n'"$c"
p=$(ps -eo pid,args | grep -E 'berthd|berth-shim|runc ' | grep -E '/tmp/berth-' | grep -v grep | head -5); [ -n "$p" ] && left+=$'\nprocesses:\n'"$p"
if [ -n "$left" ]; then
  echo "leftovers from the tests:$left"
  exit 1
fi
echo "no leftovers: mounts, links, nft tables, cgroups and processes of the tests are gone"
