#include "model_options.hpp"

#include "clear/model/zoo.hpp"

namespace clear::cli {

void add_model_flags(CLI::App* cmd, ModelFlags& f, const ModelFlagSet& set) {
  cmd->add_option("model", f.model, set.model_help)->required();
  cmd->add_option("--head", f.head, "base, causal_lm, mlm, seq2seq_lm or image_classification");
  cmd->add_option("--batch", f.workload.batch, "Sequences (or images) per step")->default_val(1);
  cmd->add_option("--seq", f.workload.seq, "Tokens per sequence (encoder-decoder: source length)")->default_val(128);
  cmd->add_option("--target-seq", f.workload.target_seq, "Encoder-decoder target length (0: same as --seq)")
      ->default_val(0);
  cmd->add_option("--phase", f.phase, "prefill or decode")->default_val("prefill");
  cmd->add_option("--kv-len", f.workload.kv_len, "Decode: tokens already in the KV cache")->default_val(0);
  cmd->add_option("--dtype", f.dtype, set.dtype_help)->default_val("fp32");
  if (set.image_size)
    cmd->add_option("--image-size", f.workload.image_size, "Vision: image side in pixels (0: the config's)")
        ->default_val(0);
  if (set.training) cmd->add_flag("--training", f.workload.training, "A training step: forward + backward");
}

ResolvedModel resolve_model_flags(const ModelFlags& f, bool validate) {
  ResolvedModel r{resolve_model(f.model), f.workload};
  if (!f.head.empty()) select_head(r.config, f.head);
  r.workload.phase = parse_phase(f.phase);
  r.workload.dtype = parse_dtype(f.dtype);
  if (validate) validate_workload(r.config, r.workload);  // the model's own limits (e.g. its learned position table)
  return r;
}

}  // namespace clear::cli
