#pragma once
// The model and workload flags that analyze, run and profile share, declared and checked in one place.
#include <string>

#include <CLI/CLI.hpp>

#include "clear/model/config.hpp"
#include "clear/model/workload.hpp"

namespace clear::cli {

struct ModelFlags {
  std::string model;
  std::string head;
  std::string phase = "prefill";
  std::string dtype = "fp32";
  Workload workload;
};

struct ModelFlagSet {
  const char* model_help = "Zoo name, folder holding config.json, or a config.json path";
  const char* dtype_help = "fp32 or bf16";
  bool image_size = true;  // --image-size (ViT)
  bool training = false;   // --training (analysis only)
};

// Adds MODEL, --head, --batch, --seq, --target-seq, --phase, --kv-len, --dtype (and --image-size,
// --training where the set asks for them).
void add_model_flags(CLI::App* cmd, ModelFlags& flags, const ModelFlagSet& set = {});

struct ResolvedModel {
  ModelConfig config;
  Workload workload;
};
// Resolves the model (zoo name, folder, config.json), applies --head, parses --phase/--dtype and
// validates the workload against the model (unless the caller checks its own flags first and then
// calls validate_workload itself); every error is a clear::Error naming the flag.
ResolvedModel resolve_model_flags(const ModelFlags& flags, bool validate = true);

}  // namespace clear::cli
