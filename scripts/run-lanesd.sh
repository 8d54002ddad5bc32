#!/usr/bin/env bash
# Sets everything up (dependencies, build) and runs lanesd in the foreground with its built-in
# defaults (127.0.0.1:50051). Extra arguments go to lanesd (see lanesd --help). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${LANES_BUILD_DIR:-build}/service/lanesd" "$@"
