#!/usr/bin/env bash
# Installs the Debian packages Berth runs on (runc, nftables, iproute2, busybox-static, tini, git) and tests with (skopeo,
# docker-registry, python3-docker, docker-compose)
# when missing.
set -euo pipefail
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ps >/dev/null 2>&1 || need+=(procps)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
[ -x /bin/busybox ] || need+=(busybox-static)
[ -x /usr/bin/tini-static ] || need+=(tini)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v curl >/dev/null 2>&1 || need+=(curl)
# /build's remote contexts from Git repositories are fetched with the host's git.
command -v git >/dev/null 2>&1 || need+=(git)
# Tests make xz and bzip2 archives (ADD, load and build contexts in those compressions) with the usual tools.
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)
# The cp race tests build a tiny static renameat2(RENAME_EXCHANGE) swapper to run inside a container.
{ command -v gcc >/dev/null 2>&1 && [ -e /usr/lib/x86_64-linux-gnu/libc.a ]; } || need+=(gcc libc6-dev)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
# Pull/push tests also run against Debian's registry (distribution 2.8.2), so they do not depend on ours being right.
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
# docker-py, as Debian ships it for its own python3, is one of the clients the tests drive.
/usr/bin/python3 -c 'import docker' >/dev/null 2>&1 || need+=(python3-docker)
[ -x /usr/bin/docker-compose ] || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
