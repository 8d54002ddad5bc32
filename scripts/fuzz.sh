#!/usr/bin/env bash
# Builds and runs the expression fuzzer (tests/fuzz/fuzz_expr.c, libFuzzer + ASan + UBSan) for a
# bounded time. Exits non-zero if it finds a crash, a leak, undefined behaviour or a timeout; the
# input that caused it is saved under build-fuzz/artifacts/ and its path printed.
#
# Design: a separate clang build directory (build-fuzz: CC=clang, -DLANES_FUZZ=ON, no CUDA, no unit
# tests) in which only fuzz_expr is built. It runs on a working copy of the seed corpus
# (tests/fuzz/corpus_expr/ is read, never written: new inputs go to build-fuzz/corpus_expr/, kept
# between runs) with the language's dictionary (tests/fuzz/expr.dict). Inputs may reach the source
# length limit (LANES_EXPR_MAX_LENGTH, 4096) and a little past it.
#
# Needs: clang and its runtime (Debian 12: clang libclang-rt-14-dev libomp-dev), plus what setup.sh
# installs. Environment: LANES_FUZZ_SECONDS (default 60), LANES_FUZZ_JOBS (parallel fuzzing
# processes, default 1), LANES_FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${LANES_FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_BUDGET=${LANES_FUZZ_SECONDS:-60}
JOBS=${LANES_FUZZ_JOBS:-1}

log() { printf '[fuzz] %s\n' "$*"; }

command -v clang >/dev/null || { log "clang is not installed (Debian: apt-get install clang libclang-rt-14-dev libomp-dev)"; exit 1; }

if ! out=$(CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLANES_FUZZ=ON -DLANES_WITH_CUDA=OFF -DLANES_BUILD_TESTS=OFF 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
cmake --build "$BUILD" --target fuzz_expr -j "$(nproc)"

mkdir -p "$BUILD/corpus_expr" "$BUILD/artifacts"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

log "fuzz_expr for ${SECONDS_BUDGET} s (${JOBS} job(s)); corpus $BUILD/corpus_expr + tests/fuzz/corpus_expr"
args=(
  -max_total_time="$SECONDS_BUDGET"
  -max_len=4200
  -timeout=60
  -rss_limit_mb=2048
  -dict=tests/fuzz/expr.dict
  -artifact_prefix="$BUILD/artifacts/"
  -print_final_stats=1
)
if [ "$JOBS" -gt 1 ]; then
  args+=(-fork="$JOBS" -ignore_crashes=0)
fi
rc=0
"$BUILD/tests/fuzz/fuzz_expr" "${args[@]}" "$BUILD/corpus_expr" tests/fuzz/corpus_expr || rc=$?
if [ "$rc" -ne 0 ]; then
  log "FAILED (exit $rc): reproducer(s) in $BUILD/artifacts/:"
  ls -l "$BUILD/artifacts/" >&2 || true
  log "replay one with: $BUILD/tests/fuzz/fuzz_expr <file>"
  exit "$rc"
fi
log "no crash in ${SECONDS_BUDGET} s"
