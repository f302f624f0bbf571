#!/usr/bin/env bash
# The main job: installs what is missing, builds, and profiles the built-in default model
# (bert-base-uncased, seeded random weights) component by component. Extra arguments go to
# `dissect profile`, e.g. --format md or --meter emulated:update=10ms,resolution=1mJ,idle=40W.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
mkdir -p results
exec build/dissect profile bert-base-uncased --store results/clear.db "$@"
