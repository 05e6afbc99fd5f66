#!/usr/bin/env bash
# Idempotent set-up for running Tandem and its tests on a Debian 12 machine, as root:
# installs the Debian packages the project uses (only those missing) and the npm packages (only when
# package-lock.json changed since the last install). Both README commands call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  socat          # the serial null-modem cable: a linked pty pair
  nftables       # the kernel data plane and packet-filter driver
  iproute2       # namespaces, veth, bridges, addresses, routes, neighbours
  iputils-ping   # reachability checks in the testbed
  iputils-arping # gratuitous ARP sender of the net driver
  tcpdump        # tests capture ARP frames on a link
  conntrack      # connection tracking state
  procps         # ps/pkill for finding the testbed's processes
  libgpiod-dev   # node-libgpiod (GPIO driver) builds against libgpiod 1.6; pulls in libgpiod2
  grub-common    # grub-editenv: GRUB environment-block compatibility tests
  grub-emu       # runs hal/bootslots/grub-select.cfg under real GRUB in tests
  e2fsprogs      # mke2fs/debugfs: the ext2 image of the grub-emu test
  util-linux     # wdctl: sets the watchdog timeout
  openssl        # self-signed certificates for the HTTPS health-check tests
  curl           # forwarding tests: HTTP through the VIP
  wrk            # bench/forward.ts load generator
  haproxy        # bench/forward.ts comparison
  nginx-light    # bench/forward.ts real server (a worker per CPU; the Node one is the bottleneck)
  keepalived     # bench/failover.ts comparison (VRRPv3)
  chromium       # the status page is tested in headless Chromium
  ipvsadm        # IPVS forwarding driver (its tests run where the kernel has ip_vs)
  python3 make g++ # native addons (serialport, raw-socket, better-sqlite3) build from source
)

missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=node_modules/.tandem-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
