#!/usr/bin/env bash
# Measures the app's resident memory under 64 concurrent uploads near the
# 10 MiB cap, for each kind of upload, and prints the peak (VmHWM). Builds
# and runs the real app binary on loopback. Linux only.
#
# Usage: scripts/upload-memory.sh [-uploads N] [-scenarios junk,png,jpeg,pixels]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/uploadmem "$@"
