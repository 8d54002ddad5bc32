#!/usr/bin/env bash
# Installs everything lanes needs on Debian 12 (also a bare one: no compiler, no Python), then builds.
# clang, its sanitizer/libFuzzer runtime and libomp are for the expression fuzzer (scripts/fuzz.sh).
# utf8proc (Unicode lower-casing and white space, as Python's str), FFTW3 (FFT correlation for ACF)
# and GSL (the chi-square tail of Ljung-Box p-values) are the text and ACF kernels' libraries.
#
# Design: idempotent and quick when nothing is missing: Debian packages are installed only if dpkg
# lacks one of them; the Python virtual environment (.venv) is rebuilt only when its requirements
# change, and the lanes package is reinstalled into it only when its sources or the proto change. The
# CUDA toolkit is not installed here (it is not in Debian's main archive): with nvcc on the PATH the
# build includes the CUDA backend, without it the build is CPU-only and CMake says so.
#
# Usage: scripts/setup.sh [--no-build]     Environment: LANES_BUILD_DIR (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# libgrpc++-dev and protobuf-compiler-grpc: lanes uses only the C core, but Debian's gRPC CMake
# package checks every file it lists (libgrpc++.so, grpc_cpp_plugin) when find_package(gRPC) loads.
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates procps
  libgrpc-dev libgrpc++-dev protobuf-compiler-grpc grpc-proto
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev libomp-dev
  libutf8proc-dev libfftw3-dev libgsl-dev
  python3 python3-venv python3-dev
)

log() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    SUDO=sudo
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: Debian's interpreter, never whatever python3 is first on the PATH, so the venv is the same
# on a bare machine, in a container and here.
PY=/usr/bin/python3
REQ="$ROOT/scripts/requirements.txt"
stamp="$ROOT/.venv/.lanes-requirements"
want=$(cat "$REQ" clients/python/pyproject.toml clients/python/setup.py 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating the Python virtual environment in .venv"
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q -r "$REQ"
  echo "$want" > "$stamp"
fi
pkg_stamp="$ROOT/.venv/.lanes-package"
pkg=$(cat clients/python/pyproject.toml clients/python/setup.py clients/python/lanes/*.py \
  proto/lanes/v1/lanes.proto | sha256sum | cut -d' ' -f1)
if [ "$(cat "$pkg_stamp" 2>/dev/null)" != "$pkg" ]; then
  log "installing the lanes Python package into .venv"
  .venv/bin/python -m pip install -q --no-build-isolation ./clients/python
  # pip builds in the source tree (setup.py's build_py): drop what it left there, generated stubs
  # included, so generated code lives only in the installed package.
  rm -rf clients/python/build clients/python/lanes.egg-info
  echo "$pkg" > "$pkg_stamp"
fi

if [ "${1:-}" != "--no-build" ]; then
  "$ROOT/scripts/build.sh"
fi
