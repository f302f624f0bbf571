#!/usr/bin/env bash
# Installs the Debian 12 packages CLEAR needs, by name, only those missing (idempotent).
#   scripts/setup.sh          build + run
#   scripts/setup.sh --test   also what the test suite needs (GoogleTest, clang for the fuzzers)
#   scripts/setup.sh --bench  also what the benchmarks need (PyTorch from Debian)
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config git libdnnl-dev nlohmann-json3-dev libcli11-dev libfmt-dev libsqlite3-dev)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(googletest libgtest-dev clang libclang-rt-14-dev) ;;
    --bench) packages+=(python3 python3-torch python3-numpy libopenblas0-pthread) ;;  # PyTorch BLAS: OpenBLAS, not the reference BLAS
    *) echo "setup.sh: unknown option '$arg' (expected --test or --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
