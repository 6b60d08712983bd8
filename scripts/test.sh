#!/usr/bin/env bash
# Runs every test: installs what is missing, builds with warnings as errors,
# runs unit and end-to-end tests with ctest. SIGNET_SANITIZE=1 builds with
# AddressSanitizer + UndefinedBehaviorSanitizer into build-asan instead.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"

build=$top/build
opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${SIGNET_SANITIZE:-0}" = 1 ]; then
  build=$top/build-asan
  opts=(-DCMAKE_BUILD_TYPE=Debug -DSIGNET_SANITIZE=ON)
  # Leak checks stay on; the keeper and module are covered too.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # External tools (pkcs11-tool, openssl, osslsigncode) that dlopen our
  # instrumented module need the ASan runtime loaded first.
  SIGNET_TEST_PRELOAD=$(gcc -print-file-name=libasan.so)
fi
export SIGNET_TEST_PRELOAD=${SIGNET_TEST_PRELOAD:-}
cmake -S "$top" -B "$build" "${opts[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@"
