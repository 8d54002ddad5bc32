#!/usr/bin/env bash
# Sets everything up and runs every test: GoogleTest unit tests, the integration tests (the real
# daemon driven by the CLI and the Python client), then the same again on an AddressSanitizer +
# UndefinedBehaviorSanitizer build, then the expression fuzzer for a bounded time. Exits non-zero if
# anything fails.
#
# Environment: LANES_TEST_SKIP_ASAN=1 skips the sanitizer pass (for quick local runs only);
# LANES_FUZZ_SECONDS (default 60) bounds the fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)

step() { printf '\n==== %s ====\n' "$*"; }

step "setup and build (build/)"
scripts/setup.sh
PY="$ROOT/.venv/bin/python"

step "unit and backend tests (build/)"
ctest --test-dir build -L 'unit|backend' --output-on-failure -j "$JOBS"

if [ -x "$(readlink -f "${CUDA_HOME:-/usr/local/cuda}")/bin/nvcc" ]; then
  step "the CUDA build configures with Debian 12's stock CMake (scripts/check-stock-cmake.sh)"
  scripts/check-stock-cmake.sh
fi

step "integration tests (build/)"
LANES_BUILD_DIR=build "$PY" -m pytest -q tests/integration

if [ "${LANES_TEST_SKIP_ASAN:-0}" != 1 ]; then
  step "sanitizer build (build-asan/: AddressSanitizer + UndefinedBehaviorSanitizer)"
  LANES_BUILD_DIR=build-asan scripts/build.sh -DLANES_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"

  step "unit and backend tests (build-asan/)"
  ctest --test-dir build-asan -L 'unit|backend' --output-on-failure -j "$JOBS"

  step "integration tests (build-asan/; the GiB memory tests run on the plain build only)"
  LANES_BUILD_DIR=build-asan "$PY" -m pytest -q tests/integration --deselect tests/integration/test_memory.py
fi
step "expression fuzzer (libFuzzer + ASan + UBSan, ${LANES_FUZZ_SECONDS:-60} s)"
LANES_FUZZ_SECONDS=${LANES_FUZZ_SECONDS:-60} scripts/fuzz.sh

step "all tests passed"
