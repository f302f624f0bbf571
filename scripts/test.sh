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
# Seeds: the zoo, and every input a fuzzer once crashed on (fuzz/regressions/), replayed first.
cp data/zoo/*.json fuzz/regressions/config/* "$corpus/config/"
# Seeds for the safetensors fuzzer: small valid files (8-byte little-endian header length, JSON
# header, data), so mutations start from inputs that pass the header checks.
seed_safetensors() {
  local file=$1 header=$2 data_bytes=$3 n=${#2}
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' $((n & 255)) $(((n >> 8) & 255)) $(((n >> 16) & 255)) $(((n >> 24) & 255)))" >"$file"
  printf '%s' "$header" >>"$file"
  head -c "$data_bytes" /dev/urandom >>"$file"
}
seed_safetensors "$corpus/safetensors/f32" '{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}' 24
seed_safetensors "$corpus/safetensors/mixed" '{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]}}' 16
failed=0
for fuzzer in config safetensors; do
  if build-fuzz/fuzz_$fuzzer -max_total_time="$seconds" -print_final_stats=1 "$corpus/$fuzzer" >"$corpus/$fuzzer.log" 2>&1; then
    echo "fuzz_$fuzzer: clean for ${seconds}s ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$corpus/$fuzzer.log" | grep -o '[0-9]*$') inputs)"
  else
    failed=$((failed + 1))
    tail -n 40 "$corpus/$fuzzer.log"
    echo "fuzz_$fuzzer: FAILED"
  fi
done
echo "fuzzers: $((2 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
