#pragma once
// The machine a profile runs on (`dissect machine`): CPU, caches, governor, kernel, compiler and
// library versions, probed every time, and the GEMM/bandwidth ceilings measured with the engine's
// own kernels once and cached in cache_dir()/machine.json (keyed by host, CPU and threads).
#include <filesystem>

#include "clear/record/records.hpp"

namespace clear {

// Everything but the ceilings (cheap: /proc, /sys, uname).
MachineInfo probe_machine();

struct MachineOptions {
  bool refresh = false;        // measure the ceilings again even when cached
  int threads = 0;             // 0: every core
  double seconds_per_ceiling = 1.5;
};
// probe_machine() plus the ceilings (from the cache when it matches this host, CPU and threads).
MachineInfo machine_info(const MachineOptions& options = {});

std::filesystem::path machine_cache_path();

}  // namespace clear
