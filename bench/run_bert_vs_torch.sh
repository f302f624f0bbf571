#!/bin/sh
# BERT-base: our engine against PyTorch on this CPU (bench/bert_vs_torch.py), from a Release build.
#   bench/run_bert_vs_torch.sh [build-dir] [extra arguments for bert_vs_torch.py, e.g. --iters 50]
# Run on a quiet machine; record the printed table, the machine and the date in docs/PERFORMANCE.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
"$here/../scripts/setup.sh" --bench
build=${1:-"$here/../build"}
[ $# -gt 0 ] && shift
if [ ! -x "$build/dissect" ] || [ ! -x "$build/bench_gemm" ]; then
  echo "building dissect and bench_gemm in $build (Release)" >&2
  cmake -S "$here/.." -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target dissect bench_gemm
fi
# Debian's python3-torch lives in the system interpreter, not in a pyenv/virtualenv one.
exec /usr/bin/python3 "$here/bert_vs_torch.py" --dissect "$build/dissect" --bench-gemm "$build/bench_gemm" "$@"
