#!/usr/bin/env bash
# Install the command-line tools the deployment tests call when they are missing: promtool,
# from Debian's prometheus package. Exits non-zero, loudly, when a tool cannot be installed.
# The package also carries a Prometheus server; none is left running after the install.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ERROR: promtool is missing and apt-get is not available to install it;" \
    "install Prometheus's promtool (2.40 or newer) and put it on PATH" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ERROR: promtool is missing; run as root or install the prometheus package" >&2
    exit 1
  fi
  SUDO=sudo
fi

echo "installing promtool (Debian package prometheus)"
busy_before=no
port_open 9090 && busy_before=yes

# policy-rc.d answering 101 tells the package scripts not to start the server.
policy=/usr/sbin/policy-rc.d
made_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy"
  made_policy=yes
fi

status=0
$SUDO apt-get update -qq || status=1
if [ "$status" -eq 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus || status=1
fi

if [ "$made_policy" = yes ]; then
  $SUDO rm -f "$policy"
fi

# Should a server have started all the same (systemd ignores policy-rc.d), stop it.
if [ "$busy_before" = no ] && port_open 9090; then
  echo "stopping the Prometheus server the package started"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  if [ -x /etc/init.d/prometheus ]; then
    $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
  pidfile=/run/prometheus/prometheus.pid
  if port_open 9090 && [ -s "$pidfile" ]; then
    $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
    sleep 2
  fi
  if port_open 9090; then
    echo "ERROR: a Prometheus server is still listening on 127.0.0.1:9090 after the install" >&2
    status=1
  fi
fi

if [ "$status" -ne 0 ] || ! command -v promtool >/dev/null 2>&1; then
  echo "ERROR: could not install promtool (apt-get install prometheus failed)" >&2
  exit 1
fi
promtool --version 2>&1 | head -n 1
