#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the suite in Release, the suite again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and the libFuzzer targets for a bounded time.
#   CLEAR_FUZZ_SECONDS (default 30) sets each fuzzer's time; CLEAR_SKIP_SANITIZERS=1 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
jobs=$(nproc)

echo "== build (Release)"
scripts/build.sh
echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

if [ "${CLEAR_SKIP_SANITIZERS:-0}" != "1" ]; then
  echo "== build (ASan + UBSan)"
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLEAR_SANITIZE=ON >/dev/null
  cmake --build build-sanitize -j"$jobs"
  echo "== tests (ASan + UBSan)"
  # oneDNN's JIT code and OpenMP runtime are not instrumented; leaks inside them are not ours.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
    ctest --test-dir build-sanitize --output-on-failure -j"$jobs" --timeout 1800
fi

echo "== fuzzers (libFuzzer, clang)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLEAR_FUZZ=ON -DCLEAR_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_config fuzz_safetensors
seconds=${CLEAR_FUZZ_SECONDS:-30}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/config" "$corpus/safetensors"
cp data/zoo/*.json "$corpus/config/"
build-fuzz/fuzz_config -max_total_time="$seconds" -print_final_stats=0 "$corpus/config" 2>&1 | tail -n 3
build-fuzz/fuzz_safetensors -max_total_time="$seconds" -print_final_stats=0 "$corpus/safetensors" 2>&1 | tail -n 3
echo "fuzzers: 2 passed, 0 failed"
