#!/usr/bin/env bash
# Runs a tutorial level on this machine, on loopback only, behind HAProxy.
#
#   scripts/local-cluster.sh --level N [--instances K] [--port 8080] [--unshared] [--latency 1.5] [--data DIR]
#
# Installs what it needs with apt-get when run as root on Debian (HAProxy,
# MariaDB, memcached); otherwise says what to install. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh --install-only haproxy
exec go run ./scripts/cluster "$@"
