#!/bin/sh
# Peak memory of `dissect run` on a model with real (file) weights against the issue's bound:
# peak RSS <= weights x 1.1 + activations. Writes a bert-base-sized random F32 checkpoint with Hugging
# Face names (bench/write_bert_checkpoint.py) unless DIR already holds one, runs it once under
# /usr/bin/time -v (Debian package `time`), and prints weights bytes (the safetensors file),
# activation bytes (the engine's activation buffers, from --format json), peak RSS and the ratios.
#   bench/bench_memory.sh [build-dir] [checkpoint-dir] [extra dissect run flags, e.g. --dtype bf16]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-"$here/../build"}
dir=${2:-"${TMPDIR:-/tmp}/clear-bench-bert-base"}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
if [ ! -x /usr/bin/time ]; then
  echo "bench_memory: /usr/bin/time is missing (apt-get install time)" >&2
  exit 2
fi
if [ ! -x "$build/dissect" ]; then
  echo "building dissect in $build (Release)" >&2
  cmake -S "$here/.." -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target dissect
fi
if [ ! -f "$dir/model.safetensors" ]; then
  /usr/bin/python3 "$here/write_bert_checkpoint.py" "$dir" >&2
fi
out=$(mktemp)
trap 'rm -f "$out" "$out.time"' EXIT
/usr/bin/time -v -o "$out.time" "$build/dissect" run "$dir" --seq 128 --batch 1 --iters 3 --warmup 1 --format json "$@" >"$out"
weights=$(stat -c %s "$dir/model.safetensors")
activations=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["activation_bytes"])' "$out")
peak_kb=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$out.time")
peak=$((peak_kb * 1024))
/usr/bin/python3 - "$weights" "$activations" "$peak" <<'EOF'
import sys
w, a, p = (int(x) for x in sys.argv[1:4])
bound = 1.1 * w + a
print(f"weights (safetensors file)  {w:>13,d} bytes  {w / 2**20:8.1f} MiB")
print(f"activation buffers          {a:>13,d} bytes  {a / 2**20:8.1f} MiB")
print(f"peak RSS (/usr/bin/time -v) {p:>13,d} bytes  {p / 2**20:8.1f} MiB")
print(f"peak / weights              {p / w:13.3f}")
print(f"peak / (1.1 x weights + activations) {p / bound:6.3f}  ({'within' if p <= bound else 'OVER'} the bound)")
EOF
