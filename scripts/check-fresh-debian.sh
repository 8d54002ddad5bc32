#!/usr/bin/env bash
# Proves that lanes sets up and builds its CUDA backend on a stock Debian 12 with the CUDA 13
# toolkit: a clean Debian 12 root (debootstrap --variant=minbase bookworm) gets this working tree,
# the host's CUDA toolkit bind-mounted read-only at /usr/local/cuda, and then runs the project's own
# scripts/setup.sh (which installs the Debian packages in there), checks the CPU-only configure and
# the fatal error of -DLANES_WITH_CUDA=ON without nvcc, builds with -DLANES_WITH_CUDA=ON with nvcc
# on the PATH, and runs the unit tests (the CUDA device tests skip without a GPU). It uses Debian's
# own CMake, and shows that its FindCUDAToolkit.cmake is the file as packaged.
#
# Design: everything happens in a throwaway root under LANES_FRESH_ROOT, made anew on each run. The
# Debian mirror is the host's, read from /etc/apt/sources.list* at run time. Nothing of the host is
# copied into the root but the working tree (tracked and untracked-but-not-ignored files, as a
# clean clone plus local changes) and resolv.conf; the CUDA toolkit, shared/ (the tests' data, beside
# the repository as in CI) and the host's CA bundle (pip and apt may need it for the host's package
# proxy) are read-only bind mounts, so they never land in the root or the repository. One EXIT trap ends the processes left in the root, unmounts everything
# under it (and checks that nothing is left mounted) before anything is deleted, then removes the
# root (rm --one-file-system) unless --keep. Needs root; installs debootstrap on the host if missing.
# Slow (5 to 15 minutes on 2 cores, with the download): not part of the CI test command.
#
# Usage: scripts/check-fresh-debian.sh [--keep]
# Environment: LANES_FRESH_ROOT (default /var/tmp/lanes-fresh-debian), CUDA_HOME (default
# /usr/local/cuda), PIP_CERT (the CA bundle passed in; default /etc/ssl/certs/ca-certificates.crt),
# LANES_FRESH_LOG (default $LANES_FRESH_ROOT.log). Exit status 0 only if every step passed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
ROOTFS=$(realpath -m "${LANES_FRESH_ROOT:-/var/tmp/lanes-fresh-debian}")
LOG=${LANES_FRESH_LOG:-$ROOTFS.log}
KEEP=0
for a in "$@"; do
  case "$a" in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "check-fresh-debian: unknown argument '$a' (only --keep)" >&2; exit 2 ;;
  esac
done

log() { printf '[fresh-debian %4ds] %s\n' "$SECONDS" "$*"; }
die() { log "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mounts)"
case "$ROOTFS" in /|/usr|/var|/tmp|/var/tmp|/home|/root|"") die "refusing LANES_FRESH_ROOT=$ROOTFS" ;; esac
CUDA_SRC=$(readlink -f "${CUDA_HOME:-/usr/local/cuda}")
[ -x "$CUDA_SRC/bin/nvcc" ] || die "no nvcc in $CUDA_SRC/bin (set CUDA_HOME to the CUDA toolkit)"
HOST_CA=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
[ -r "$HOST_CA" ] || HOST_CA=""

exec > >(tee "$LOG") 2>&1

# The mounts under the root, deepest first.
mounts_under() {
  awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

cleanup() {
  local rc=$? pid root m
  set +e
  # Processes whose root is the chroot were started by this script (a daemon a test left, a gpg-agent).
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    root=$(readlink "/proc/$pid/root" 2>/dev/null) || continue
    if [ "$root" = "$ROOTFS" ]; then kill -9 "$pid" 2>/dev/null; fi
  done
  for m in $(mounts_under); do umount "$m" 2>/dev/null || umount -l "$m"; done
  if [ -n "$(mounts_under)" ]; then
    log "still mounted under $ROOTFS (not removing it): $(mounts_under | tr '\n' ' ')"
    [ $rc -ne 0 ] || rc=1
  elif [ $KEEP -eq 0 ] && [ -d "$ROOTFS" ]; then
    rm -rf --one-file-system "$ROOTFS"
  fi
  if [ $rc -eq 0 ]; then log "PASSED in ${SECONDS}s (log: $LOG)"; else log "FAILED (exit $rc) after ${SECONDS}s (log: $LOG)"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The host's Debian mirror for a suite: one-line sources ("deb [opts] URI SUITE comps") or deb822
# ("Types: deb" / "URIs:" / "Suites:" paragraphs).
host_mirror() {
  local suite=$1 f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      awk -v s="$suite" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                       if ($(i + 1) == s) print $i }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -r "$f" ] || continue
      awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
        { t = ""; u = ""; su = ""
          for (j = 1; j <= NF; j++) {
            if ($j ~ /^Types:/) t = " " substr($j, 7) " "
            if ($j ~ /^URIs:/) u = substr($j, 6)
            if ($j ~ /^Suites:/) su = " " substr($j, 8) " " }
          gsub(/[ \t]+/, " ", t); gsub(/[ \t]+/, " ", su); sub(/^[ \t]+/, "", u); split(u, uu, /[ \t]+/)
          if (t ~ / deb / && su ~ (" " s " ") && uu[1] != "") print uu[1] }' "$f"
    done
  } | head -n 1
}
MIRROR=$(host_mirror bookworm)
[ -n "$MIRROR" ] || die "no bookworm entry in /etc/apt/sources.list* to take the Debian mirror from"
SECURITY=$(host_mirror bookworm-security)

log "Debian mirror (from the host's apt sources): $MIRROR${SECURITY:+; security: $SECURITY}"
log "CUDA toolkit: $CUDA_SRC ($(du -sh "$CUDA_SRC" 2>/dev/null | cut -f1)), read-only at /usr/local/cuda"
log "free space where the root goes: $(df -h --output=avail "$(dirname "$ROOTFS")" | tail -1 | tr -d ' ')"

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap on the host"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

if [ -e "$ROOTFS" ]; then
  for m in $(mounts_under); do umount "$m" 2>/dev/null || umount -l "$m"; done
  [ -z "$(mounts_under)" ] || die "$ROOTFS still has mounts from an earlier run"
  rm -rf --one-file-system "$ROOTFS"
fi

log "debootstrap --variant=minbase bookworm $ROOTFS"
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" > "$ROOTFS.debootstrap.log" 2>&1 ||
  { tail -n 30 "$ROOTFS.debootstrap.log"; die "debootstrap"; }
rm -f "$ROOTFS.debootstrap.log"
{
  echo "deb $MIRROR bookworm main"
  echo "deb $MIRROR bookworm-updates main"
  [ -z "$SECURITY" ] || echo "deb $SECURITY bookworm-security main"
} > "$ROOTFS/etc/apt/sources.list"
cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

# The working tree as a clean clone would have it, plus local changes (not .venv or build folders).
mkdir -p "$ROOTFS/src/lanes"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do
    case "$f" in .venv|.venv/*) continue ;; esac
    [ -e "$f" ] && printf '%s\0' "$f"
  done | tar --null -T - -cf - | tar -C "$ROOTFS/src/lanes" -xf -

mount -t proc proc "$ROOTFS/proc"
mount -t sysfs sysfs "$ROOTFS/sys"
mount --rbind /dev "$ROOTFS/dev"
mount --make-rslave "$ROOTFS/dev"
mkdir -p "$ROOTFS/usr/local/cuda"
mount --bind "$CUDA_SRC" "$ROOTFS/usr/local/cuda"
mount -o remount,bind,ro "$ROOTFS/usr/local/cuda"
# The tests read their data from shared/ beside the repository, as in CI: read-only there too.
if [ -d "$REPO/../shared" ]; then
  mkdir -p "$ROOTFS/src/shared"
  mount --bind "$(readlink -f "$REPO/../shared")" "$ROOTFS/src/shared"
  mount -o remount,bind,ro "$ROOTFS/src/shared"
fi
CA_IN=""
if [ -n "$HOST_CA" ]; then
  CA_IN=/run/lanes-host-ca.pem
  touch "$ROOTFS$CA_IN"
  mount --bind "$HOST_CA" "$ROOTFS$CA_IN"
  mount -o remount,bind,ro "$ROOTFS$CA_IN"
  echo "Acquire::https::CAInfo \"$CA_IN\";" > "$ROOTFS/etc/apt/apt.conf.d/99lanes-host-ca"
fi

# The steps inside the root. PATH starts without the CUDA toolkit (CPU-only checks), then gets it.
cat > "$ROOTFS/root/lanes-check.sh" <<'EOF'
set -euo pipefail
cd /src/lanes
step() { printf '\n==== [%4ds] %s ====\n' "$SECONDS" "$*"; }
step "Debian $(cat /etc/debian_version): scripts/setup.sh --no-build (installs the Debian packages)"
scripts/setup.sh --no-build
step "scripts/setup.sh --no-build again: nothing left to do (idempotent)"
again=$(scripts/setup.sh --no-build 2>&1)
if [ -n "$again" ]; then printf '%s\n' "$again"; echo "setup.sh did work on its second run"; exit 1; fi
echo "(no output: nothing installed or rebuilt)"

step "CMake: $(cmake --version | head -n 1) at $(command -v cmake), from Debian's package"
dpkg-query -W -f='${Package} ${Version}\n' cmake cmake-data
dpkg -V cmake cmake-data || { echo "cmake's files differ from the package"; exit 1; }
deb=$(ls /var/cache/apt/archives/cmake-data_*.deb 2>/dev/null | head -n 1)
if [ -n "$deb" ]; then
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/cmake-3.25/Modules/FindCUDAToolkit.cmake > /tmp/stock.cmake
  cmp /usr/share/cmake-3.25/Modules/FindCUDAToolkit.cmake /tmp/stock.cmake
  echo "FindCUDAToolkit.cmake is the file in $(basename "$deb")"
fi
grep -n 'set_property(TARGET CUDA::nvToolsExt' -B 1 /usr/share/cmake-3.25/Modules/FindCUDAToolkit.cmake

step "no nvcc on the PATH: configure says CPU-only"
command -v nvcc && { echo "nvcc should not be on the PATH here"; exit 1; }
out=$(cmake -S . -B /tmp/build-cpu -G Ninja 2>&1) || { printf '%s\n' "$out"; exit 1; }
grep '^-- lanes:' <<<"$out"
grep -q 'lanes: CUDA backend OFF: this is a CPU-only build' <<<"$out"

step "no nvcc on the PATH and -DLANES_WITH_CUDA=ON: a fatal error"
if out=$(cmake -S . -B /tmp/build-cuda-on -G Ninja -DLANES_WITH_CUDA=ON 2>&1); then
  printf '%s\n' "$out"; echo "configure should have failed"; exit 1
fi
grep -A 2 'CMake Error' <<<"$out"
grep -q 'LANES_WITH_CUDA=ON but no CUDA compiler (nvcc) was found' <<<"$out"

export PATH=/usr/local/cuda/bin:$PATH
step "nvcc on the PATH: $(nvcc --version | tail -n 1)"
step "scripts/build.sh -DLANES_WITH_CUDA=ON (Debian's CMake $(cmake --version | head -n 1 | cut -d' ' -f3))"
LANES_BUILD_DIR=build scripts/build.sh -DLANES_WITH_CUDA=ON > /tmp/build.log 2>&1 ||
  { tail -n 60 /tmp/build.log; echo "the CUDA build failed"; exit 1; }
grep -E '^-- lanes:|warning:' /tmp/build.log || true
tail -n 2 /tmp/build.log
grep -q '^LANES_WITH_CUDA:BOOL=ON' build/CMakeCache.txt
ls -l build/service/lanesd build/clients/c/lanes
# Found through lanesd's run path: the toolkit's folder is not in this root's ld.so.conf.
ldd build/service/lanesd | grep -E 'nvrtc|cufft|not found'
if ldd build/service/lanesd | grep -q 'not found'; then echo "lanesd cannot find a library"; exit 1; fi

step "unit tests (the CUDA device tests skip: no GPU)"
rc=0; ctest --test-dir build -L unit --output-on-failure -j "$(nproc)" > /tmp/ctest.log 2>&1 || rc=$?
sed -n '/tests passed/,$p' /tmp/ctest.log | grep . || tail -n 40 /tmp/ctest.log
[ $rc -eq 0 ] || { echo "unit tests failed"; exit 1; }
step "all steps passed"
EOF

log "running the checks inside the root (log: $LOG)"
envs=(HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin)
if [ -n "$CA_IN" ]; then
  envs+=(PIP_CERT=$CA_IN SSL_CERT_FILE=$CA_IN REQUESTS_CA_BUNDLE=$CA_IN)
fi
# The host's way to the package index, if it has one set (none of it is written into the root).
for v in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT \
         http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -z "${!v:-}" ] || envs+=("$v=${!v}")
done
chroot "$ROOTFS" /usr/bin/env -i "${envs[@]}" /bin/bash /root/lanes-check.sh
