#!/usr/bin/env bash
# Quick regression check (about a minute) that the CUDA build configures with Debian 12's CMake as
# packaged, whatever this machine's own /usr/share/cmake-3.25 holds (the development machines' copy
# of FindCUDAToolkit.cmake was patched by hand, which hid a failure with CUDA 13). The slow, full
# proof on a clean Debian 12 root is scripts/check-fresh-debian.sh.
#
# Design: `apt-get download` fetches Debian's cmake and cmake-data packages (the version apt would
# install here) into a temporary folder, dpkg-deb -x unpacks them there (nothing is installed; the
# unpacked cmake finds its modules beside itself), and that cmake configures this tree with
# -DLANES_WITH_CUDA=ON into a temporary build folder; then without nvcc on the PATH, where it must
# say CPU-only. Configure only: nothing is compiled. Needs nvcc (CUDA_HOME, default
# /usr/local/cuda) and apt's package lists (run apt-get update once first).
#
# Usage: scripts/check-stock-cmake.sh     Exit status 0 only if both configures behave.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
CUDA_BIN=$(readlink -f "${CUDA_HOME:-/usr/local/cuda}")/bin
[ -x "$CUDA_BIN/nvcc" ] || { echo "check-stock-cmake: no nvcc in $CUDA_BIN (set CUDA_HOME)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# apt-get download writes into the current folder; as root it warns that _apt cannot write there.
(cd "$TMP" && apt-get download -q cmake cmake-data 2>&1 | grep -v '^W: Download is performed unsandboxed') ||
  { echo "check-stock-cmake: apt-get download cmake cmake-data failed (apt-get update first?)" >&2; exit 1; }
for deb in "$TMP"/*.deb; do dpkg-deb -x "$deb" "$TMP/root"; done
CMAKE="$TMP/root/usr/bin/cmake"
echo "stock $("$CMAKE" --version | head -n 1) from $(cd "$TMP" && ls ./*.deb | tr '\n' ' ')"

fail=0
# configure BUILD_DIR EXPECTED_LINE WHAT PATH [cmake args...]: one configure with the stock CMake.
configure() {
  local dir=$1 want=$2 what=$3 path=$4 out
  shift 4
  if out=$(env PATH="$path" "$CMAKE" -S "$REPO" -B "$TMP/$dir" -G Ninja "$@" 2>&1) && grep -q "^$want" <<<"$out"; then
    grep '^-- lanes:' <<<"$out"
  else
    printf '%s\n' "$out" | grep -v '^-- ' >&2
    echo "check-stock-cmake: FAILED: $what" >&2
    fail=1
  fi
}
configure build-cuda '-- lanes: CUDA backend ON' "the CUDA build does not configure with Debian's stock CMake" \
  "$CUDA_BIN:$PATH" -DLANES_WITH_CUDA=ON
# Without nvcc on the PATH (only the system folders): CPU-only, and said so.
configure build-cpu '-- lanes: CUDA backend OFF: this is a CPU-only build' \
  "the CPU-only configure with Debian's stock CMake" /usr/sbin:/usr/bin:/sbin:/bin
[ $fail -eq 0 ] && echo "check-stock-cmake: passed"
exit $fail
