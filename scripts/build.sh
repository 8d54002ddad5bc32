#!/usr/bin/env bash
# Configures and builds lanes with CMake and Ninja.
# Usage: scripts/build.sh [extra cmake -D options]   Environment: LANES_BUILD_DIR (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${LANES_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
