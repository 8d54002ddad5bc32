#!/usr/bin/env bash
# Configures and builds lanes with CMake and Ninja. Prints CMake's "lanes:" lines (whether the CUDA
# backend is built, or that this is a CPU-only build), or all of its output if configuring fails.
# Usage: scripts/build.sh [extra cmake -D options]   Environment: LANES_BUILD_DIR (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${LANES_BUILD_DIR:-build}
if ! out=$(cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} "$@" 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
printf '%s\n' "$out" | grep -E '^-- lanes:' || true
cmake --build "$BUILD" -j "$(nproc)"
