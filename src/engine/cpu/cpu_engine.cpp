// The CPU backend: builds the graph, packs the weights once, allocates every buffer for the
// workload, and runs plans (docs/ENGINE.md). Whole-model runs use the fused attention plan;
// capture and run_component use the leaf-by-leaf plan, so every component is a unit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>

#include "clear/engine/cpu_engine.hpp"
#include "clear/engine/kernels.hpp"
#include "clear/engine/weights.hpp"
#include "clear/util/error.hpp"
#include "engine/cpu/plan.hpp"

namespace clear {
namespace {

using cpu::Plan;
using cpu::Pass;

std::string bytes_text(int64_t bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%lld bytes (%.2f GiB)", static_cast<long long>(bytes),
                static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return text;
}

int64_t memory_limit(const EngineOptions& options, std::string* source) {
  if (options.memory_limit_bytes > 0) {
    *source = "the engine's memory limit";
    return options.memory_limit_bytes;
  }
  *source = "MemAvailable in /proc/meminfo";
  return available_memory_bytes();
}

bool is_linear_op(OpKind op) { return op == OpKind::linear || op == OpKind::router || op == OpKind::patch_embedding; }

class CpuEngineImpl final : public CpuEngine {
 public:
  CpuEngineImpl(ComponentGraph graph, const Workload& workload, const EngineOptions& options, WeightStore weights) {
    d_.graph = std::move(graph);
    d_.workload = workload;
    d_.options = options;
    d_.options.max_new_tokens = std::max<int64_t>(options.max_new_tokens, 1);
    d_.weights = std::move(weights);
    kernels::set_threads(options.threads);
    fused_ = options.fused_attention;
    plan_geometry();
    pack_weights();
    allocate_inputs();
    fill_inputs(ModelInputs{}, true);
    build_plans();
  }

  std::string name() const override { return "cpu"; }
  const ComponentGraph& graph() const override { return d_.graph; }
  const Workload& workload() const override { return d_.workload; }
  std::string weights_description() const override { return d_.weights.description(); }
  bool random_weights() const override { return d_.weights.random(); }

  void capture() override {
    ensure_leaf_plan();
    ensure_setup();
    Plan& plan = leaf_plan_;
    allocate_capture(plan);
    plan.prepare();
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      size_t r = 0;
      for (const auto& region : plan.steps[i].inputs) {
        std::memcpy(capture_store_.get() + capture_offsets_[i][r], region.ptr, static_cast<size_t>(region.bytes));
        ++r;
      }
      run_step(plan, i);
    }
    captured_ = true;
    last_plan_ = &plan;
  }

  std::vector<int> runnable_components() const override {
    const Plan& plan = fast_plan_;
    std::vector<char> runs(d_.graph.nodes.size(), 0);
    for (const auto& step : plan.steps) {
      for (int n = step.node; n >= 0; n = d_.graph.nodes[n].parent) runs[n] = 1;
      if (step.fused)
        for (int c : d_.graph.nodes[step.node].children)
          if (is_attention_core(d_.graph.nodes[c].op)) runs[c] = 1;
    }
    std::vector<int> out;
    for (size_t i = 0; i < runs.size(); ++i)
      if (runs[i]) out.push_back(static_cast<int>(i));
    return out;
  }

  void run_component(int node, int64_t repetitions) override {
    if (!captured_) throw Error("run_component: no captured inputs; call capture() first");
    if (node < 0 || node >= static_cast<int>(d_.graph.nodes.size()))
      throw Error("run_component: no component with index " + std::to_string(node));
    auto [first, last] = step_range_[node];
    if (first >= last)
      throw Error("run_component: component " + d_.graph.nodes[node].name + " does not run under this workload (" +
                  to_string(d_.workload.phase) + ")");
    Plan& plan = leaf_plan_;
    // Put back the captured inputs, latest step first, so every buffer holds the value that the
    // earliest step of the component read.
    for (int i = last - 1; i >= first; --i) {
      const auto& inputs = plan.steps[i].inputs;
      for (size_t r = inputs.size(); r-- > 0;)
        std::memcpy(const_cast<void*>(inputs[r].ptr), capture_store_.get() + capture_offsets_[i][r],
                    static_cast<size_t>(inputs[r].bytes));
    }
    if (observer_) observer_->on_begin(d_.graph, node);
    for (int64_t rep = 0; rep < repetitions; ++rep)
      for (int i = first; i < last; ++i) plan.steps[i].run();
    if (observer_) observer_->on_end(d_.graph, node);
    last_plan_ = &plan;
  }

  void run_model(int64_t repetitions) override {
    ensure_setup();
    Plan& plan = fused_ ? fast_plan_ : (ensure_leaf_plan(), leaf_plan_);
    plan.prepare();
    for (int64_t rep = 0; rep < repetitions; ++rep) run_plan(plan);
    last_plan_ = &plan;
  }

  void synchronize() override {}
  void set_observer(ComponentObserver* observer) override { observer_ = observer; }

  void set_inputs(const ModelInputs& inputs) override {
    bool padding_before = d_.padding;
    fill_inputs(inputs, false);
    setup_done_ = false;
    captured_ = false;
    if (padding_before != d_.padding) build_plans();
  }

  std::vector<OutputTensor> outputs() const override {
    std::vector<OutputTensor> out;
    auto add = [&](const cpu::OutputRef& ref) {
      for (const auto& o : out)
        if (o.name == ref.name) return;
      OutputTensor t;
      t.name = ref.name;
      t.shape = ref.shape;
      int64_t n = 1;
      for (int64_t s : ref.shape) n *= s;
      t.data.assign(ref.data, ref.data + n);
      out.push_back(std::move(t));
    };
    if (last_plan_)
      for (const auto& ref : last_plan_->outputs) add(ref);
    if (has_setup_ && setup_done_)
      for (const auto& ref : setup_plan_.outputs)
        if (ref.name == "encoder_last_hidden_state") add(ref);
    return out;
  }

  std::vector<double> generate(int64_t steps) override {
    if (d_.workload.phase != Phase::decode) throw Error("generate: the workload's phase is prefill; use --phase decode");
    if (steps < 1 || steps > d_.options.max_new_tokens)
      throw Error("generate: " + std::to_string(steps) + " steps asked, the KV cache was sized for " +
                  std::to_string(d_.options.max_new_tokens) + " (max_new_tokens)");
    setup_done_ = false;
    ensure_setup();
    generated_.clear();
    std::vector<double> seconds;
    std::mt19937_64 rng(d_.options.seed ^ 0x9e3779b97f4a7c15ull);
    std::uniform_int_distribution<int64_t> any_id(0, d_.graph.config.vocab_size - 1);
    int64_t kv = d_.workload.kv_len, B = d_.batch;
    for (int64_t i = 0; i < steps; ++i) {
      Pass pass = main_pass_;
      pass.past = kv + i;
      pass.fused = fused_;
      Plan plan = cpu::build_plan(d_, pass);
      plan.prepare();
      std::vector<int64_t> consumed(B);
      for (int64_t b = 0; b < B; ++b) consumed[b] = d_.dec_ids[b * d_.dec_ids_len + kv + i];
      generated_.push_back(consumed);
      auto start = std::chrono::steady_clock::now();
      run_plan(plan);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (i + 1 == steps) {
        generated_plan_ = std::move(plan);
        last_plan_ = &generated_plan_;
        break;
      }
      const cpu::OutputRef* logits = nullptr;
      for (const auto& ref : plan.outputs)
        if (ref.name == "logits") logits = &ref;
      for (int64_t b = 0; b < B; ++b) {
        int64_t next;
        if (logits) {
          int64_t V = logits->shape.back();
          const float* row = logits->data + b * V;
          next = std::max_element(row, row + V) - row;
        } else {
          next = any_id(rng);
        }
        d_.dec_ids[b * d_.dec_ids_len + kv + i + 1] = next;
      }
    }
    return seconds;
  }

  const std::vector<std::vector<int64_t>>& generated_tokens() const override { return generated_; }
  int64_t activation_bytes() const override { return d_.arena.bytes(); }
  int64_t packed_weight_bytes() const override {
    int64_t total = 0;
    for (const auto& [key, lin] : d_.linears) total += lin.packed_bytes();
    return total;
  }
  void set_fused_attention(bool fused) override { fused_ = fused; }

 private:
  cpu::EngineData d_;
  Pass main_pass_, setup_pass_;
  bool has_setup_ = false, setup_done_ = false;
  Plan setup_plan_, fast_plan_, leaf_plan_, generated_plan_;
  bool leaf_plan_built_ = false;
  bool fused_ = true;
  bool captured_ = false;
  const Plan* last_plan_ = nullptr;
  ComponentObserver* observer_ = nullptr;
  struct FreeBytes {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, FreeBytes> capture_store_;
  int64_t capture_bytes_ = 0;
  std::vector<std::vector<int64_t>> capture_offsets_;
  std::vector<std::pair<int, int>> step_range_;
  std::vector<std::vector<int64_t>> generated_;
  std::mt19937_64 input_rng_;
  int64_t pixels_count_ = 0;

  static bool is_attention_core(OpKind op) {
    return op == OpKind::attention_scores || op == OpKind::attention_mask || op == OpKind::attention_softmax ||
           op == OpKind::attention_context;
  }

  void plan_geometry() {
    const ModelConfig& cfg = d_.graph.config;
    const Workload& w = d_.workload;
    d_.batch = w.batch;
    bool decode = w.phase == Phase::decode;
    switch (cfg.arch_type) {
      case ArchType::encoder_only:
      case ArchType::vision_encoder:
        if (decode) throw Error("workload: phase decode needs a decoder; " + cfg.name + " is encoder-only");
        if (cfg.arch_type == ArchType::vision_encoder) {
          d_.image = w.image_size > 0 ? w.image_size : cfg.image_size;
          if (cfg.patch_size <= 0 || d_.image % cfg.patch_size != 0)
            throw Error("workload: image_size " + std::to_string(d_.image) + " is not a multiple of the patch size " +
                        std::to_string(cfg.patch_size));
          // Hugging Face refuses other sizes unless the position table is interpolated; so do we,
          // rather than silently using a slice of the table (the analysis accepts any size).
          if (d_.image != cfg.image_size)
            throw Error("--image-size " + std::to_string(d_.image) + ": the engine runs " + cfg.name +
                        " at its configured image size " + std::to_string(cfg.image_size) +
                        " (other sizes need position-table interpolation, which it does not do)");
          d_.grid = d_.image / cfg.patch_size;
          d_.enc_len = 1 + d_.grid * d_.grid;
        } else {
          d_.enc_len = w.seq;
        }
        main_pass_ = Pass{0, 0, true, false, false, true, true};
        break;
      case ArchType::decoder_only:
      case ArchType::moe_decoder:
        if (decode) {
          plan_decode(false);
        } else {
          d_.dec_ids_len = w.seq;
          main_pass_ = Pass{w.seq, 0, false, false, false, true, true};
        }
        break;
      case ArchType::encoder_decoder: {
        d_.enc_len = w.seq;
        int64_t target = w.target_seq > 0 ? w.target_seq : w.seq;
        if (decode) {
          plan_decode(true);
        } else {
          d_.dec_ids_len = target;
          main_pass_ = Pass{target, 0, true, true, false, true, true};
        }
        break;
      }
    }
    d_.enc_rows_max = d_.batch * d_.enc_len;
    d_.dec_rows_max = d_.batch * std::max(main_pass_.dec_len, has_setup_ ? setup_pass_.dec_len : 0);
  }

  // Decode: the setup prefill fills the caches with the first kv_len tokens (running the encoder
  // and computing the cross K/V where there is one); the measured step is one token at kv_len.
  void plan_decode(bool with_encoder) {
    const Workload& w = d_.workload;
    if (w.kv_len < 1) throw Error("workload: kv_len must be at least 1 in phase decode");
    d_.dec_ids_len = w.kv_len + d_.options.max_new_tokens;
    d_.kv_capacity = d_.dec_ids_len;
    setup_pass_ = Pass{w.kv_len, 0, with_encoder, with_encoder, true, true, false};
    main_pass_ = Pass{1, w.kv_len, false, false, true, true, true};
    has_setup_ = true;
  }

  // Packs every linear once (shared and tied weights once) and gives back each fp32 tensor that
  // only linears use as soon as the last linear reading it is packed, so the peak while packing is
  // the weights plus one packed copy (not every fp32 tensor plus every packed copy).
  void pack_weights() {
    const ComponentGraph& g = d_.graph;
    std::set<std::string> kept;               // tensors read directly by non-linear leaves
    std::map<std::string, int> linear_users;  // tensor -> linear leaves still to pack
    auto name_of = [&](int leaf, const char* role) {
      const Component& c = g.nodes[leaf];
      std::string own = c.name + "." + role;
      for (const auto& p : c.params)
        if (p.name == own) return own;
      return g.nodes[g.param_owner(leaf)].name + "." + role;
    };
    for (int leaf : g.leaves()) {
      for (const char* role : {"weight", "bias"}) {
        if (is_linear_op(g.nodes[leaf].op))
          ++linear_users[name_of(leaf, role)];
        else
          kept.insert(name_of(leaf, role));
      }
    }
    for (int leaf : g.leaves()) {
      if (!is_linear_op(g.nodes[leaf].op)) continue;
      d_.linear(leaf).prepare(1);
      for (const char* role : {"weight", "bias"}) {
        std::string n = name_of(leaf, role);
        if (--linear_users[n] == 0 && !kept.count(n) && d_.weights.contains(n)) d_.weights.release(n);
      }
    }
  }

  void allocate_inputs() {
    const ModelConfig& cfg = d_.graph.config;
    int64_t B = d_.batch;
    if (d_.enc_len > 0) {
      d_.enc_ids = d_.arena.ints("in.enc_ids", B * d_.enc_len);
      d_.enc_key_mask = d_.arena.floats("in.enc_key_mask", B * d_.enc_len);
    }
    if (d_.dec_ids_len > 0) d_.dec_ids = d_.arena.ints("in.dec_ids", B * d_.dec_ids_len);
    if (cfg.arch_type == ArchType::vision_encoder) {
      pixels_count_ = B * cfg.num_channels * d_.image * d_.image;
      d_.pixels = d_.arena.floats("in.pixels", pixels_count_);
    }
  }

  // Token ids per sequence the caller gives for the encoder stream (input_ids) and the decoder.
  int64_t decoder_ids_per_sequence() const {
    return d_.workload.phase == Phase::decode ? d_.workload.kv_len + 1 : d_.dec_ids_len;
  }

  void copy_ids(const std::vector<int64_t>& given, const char* field, int64_t* dst, int64_t per_seq, int64_t stride,
                std::vector<int64_t> prompt) {
    const ModelConfig& cfg = d_.graph.config;
    int64_t B = d_.batch, V = cfg.vocab_size;
    const std::vector<int64_t>* src = &given;
    if (given.empty() && !prompt.empty()) src = &prompt;
    if (src->empty()) {
      std::uniform_int_distribution<int64_t> dist(0, V - 1);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < per_seq; ++s) dst[b * stride + s] = dist(input_rng_);
      return;
    }
    int64_t n = static_cast<int64_t>(src->size());
    bool one_for_all = n == per_seq && B > 1;
    if (n != B * per_seq && !one_for_all)
      throw Error(std::string(field) + ": " + std::to_string(n) + " ids given, expected batch × " +
                  std::to_string(per_seq) + " = " + std::to_string(B * per_seq) + " (or " + std::to_string(per_seq) +
                  " for every sequence)");
    for (int64_t i = 0; i < n; ++i)
      if ((*src)[i] < 0 || (*src)[i] >= V)
        throw Error(std::string(field) + ": id " + std::to_string((*src)[i]) + " at position " + std::to_string(i) +
                    " is outside the vocabulary [0, " + std::to_string(V) + ")");
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < per_seq; ++s) dst[b * stride + s] = (*src)[one_for_all ? s : b * per_seq + s];
  }

  void fill_inputs(const ModelInputs& in, bool first) {
    const ModelConfig& cfg = d_.graph.config;
    int64_t B = d_.batch;
    input_rng_.seed(d_.options.seed ^ 0x1d5ull);
    const std::vector<int64_t>& prompt = d_.options.input_ids;
    bool enc_dec = cfg.arch_type == ArchType::encoder_decoder;
    bool vision = cfg.arch_type == ArchType::vision_encoder;
    if (vision) {
      if (!in.input_ids.empty()) throw Error("input_ids: " + cfg.name + " is a vision model; give pixel_values");
      if (in.pixel_values.empty()) {
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        for (int64_t i = 0; i < pixels_count_; ++i) d_.pixels[i] = dist(input_rng_);
      } else if (static_cast<int64_t>(in.pixel_values.size()) != pixels_count_) {
        throw Error("pixel_values: " + std::to_string(in.pixel_values.size()) + " values given, expected [batch " +
                    std::to_string(B) + ", channels " + std::to_string(cfg.num_channels) + ", " +
                    std::to_string(d_.image) + ", " + std::to_string(d_.image) + "] = " + std::to_string(pixels_count_));
      } else {
        std::copy(in.pixel_values.begin(), in.pixel_values.end(), d_.pixels);
      }
    } else if (!in.pixel_values.empty()) {
      throw Error("pixel_values: " + cfg.name + " takes token ids, not images");
    }
    if (d_.enc_ids) copy_ids(in.input_ids, "input_ids", d_.enc_ids, d_.enc_len, d_.enc_len, prompt);
    if (d_.dec_ids) {
      if (enc_dec) {
        copy_ids(in.decoder_input_ids, "decoder_input_ids", d_.dec_ids, decoder_ids_per_sequence(), d_.dec_ids_len, {});
      } else {
        if (!in.decoder_input_ids.empty()) throw Error("decoder_input_ids: " + cfg.name + " is not an encoder-decoder model");
        copy_ids(in.input_ids, "input_ids", d_.dec_ids, decoder_ids_per_sequence(), d_.dec_ids_len, prompt);
      }
    }
    // Padding: valid_lengths counts the encoder tokens that are not padding.
    d_.padding = false;
    if (!in.valid_lengths.empty()) {
      if (d_.enc_len == 0 || vision)
        throw Error("valid_lengths: padding masks apply to encoder tokens; " + cfg.name + " has none");
      if (static_cast<int64_t>(in.valid_lengths.size()) != B)
        throw Error("valid_lengths: " + std::to_string(in.valid_lengths.size()) + " given, expected one per sequence (" +
                    std::to_string(B) + ")");
      for (int64_t b = 0; b < B; ++b) {
        int64_t n = in.valid_lengths[b];
        if (n < 1 || n > d_.enc_len)
          throw Error("valid_lengths: " + std::to_string(n) + " for sequence " + std::to_string(b) +
                      " is outside [1, " + std::to_string(d_.enc_len) + "]");
        for (int64_t s = 0; s < d_.enc_len; ++s) d_.enc_key_mask[b * d_.enc_len + s] = s < n ? 1.0f : 0.0f;
        d_.padding |= n < d_.enc_len;
      }
    }
    (void)first;
  }

  void build_plans() {
    if (has_setup_) setup_plan_ = cpu::build_plan(d_, setup_pass_);
    Pass fast = main_pass_;
    fast.fused = true;
    fast_plan_ = cpu::build_plan(d_, fast);
    leaf_plan_built_ = false;
    captured_ = false;
    setup_done_ = false;
    last_plan_ = nullptr;
  }

  // Largest [B, H, S, K] score matrix of the leaf plan, checked against memory before allocation.
  int64_t largest_scores_bytes() const {
    const ModelConfig& cfg = d_.graph.config;
    int64_t heads = std::max(cfg.encoder.num_heads, cfg.decoder.num_heads);
    int64_t q = std::max(d_.enc_len, main_pass_.dec_len);
    int64_t k = std::max({d_.enc_len, main_pass_.past + main_pass_.dec_len});
    return 4 * d_.batch * heads * q * k;
  }

  void check_extra_memory(int64_t extra, const std::string& what) {
    std::string source;
    int64_t limit = memory_limit(d_.options, &source);
    int64_t used = d_.options.memory_limit_bytes > 0 ? d_.arena.bytes() + packed_weight_bytes() + capture_bytes_ : 0;
    if (limit > 0 && used + extra > limit)
      throw Error(what + " needs " + bytes_text(extra) + " but only " + bytes_text(std::max<int64_t>(0, limit - used)) +
                  " are available (" + source + ")");
  }

  void ensure_leaf_plan() {
    if (leaf_plan_built_) return;
    int64_t scores = largest_scores_bytes();
    check_extra_memory(scores, "running attention leaves alone: the [batch, heads, seq, keys] scores buffer");
    Pass pass = main_pass_;
    pass.fused = false;
    leaf_plan_ = cpu::build_plan(d_, pass);
    leaf_plan_built_ = true;
    captured_ = false;
    // Steps of each component: a contiguous range, since leaves run in depth-first order.
    const ComponentGraph& g = d_.graph;
    std::vector<int> subtree_end(g.nodes.size());
    for (int n = static_cast<int>(g.nodes.size()) - 1; n >= 0; --n) {
      int end = n + 1;
      for (int c : g.nodes[n].children) end = std::max(end, subtree_end[c]);
      subtree_end[n] = end;
    }
    step_range_.assign(g.nodes.size(), {0, 0});
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      int first = -1, last = -1;
      for (size_t i = 0; i < leaf_plan_.steps.size(); ++i) {
        int s = leaf_plan_.steps[i].node;
        if (s >= static_cast<int>(n) && s < subtree_end[n]) {
          if (first < 0) first = static_cast<int>(i);
          last = static_cast<int>(i) + 1;
        }
      }
      if (first >= 0) step_range_[n] = {first, last};
    }
  }

  void allocate_capture(const Plan& plan) {
    if (capture_store_) return;
    int64_t total = 0;
    capture_offsets_.assign(plan.steps.size(), {});
    for (size_t i = 0; i < plan.steps.size(); ++i)
      for (const auto& region : plan.steps[i].inputs) {
        capture_offsets_[i].push_back(total);
        total += (region.bytes + 63) / 64 * 64;
      }
    check_extra_memory(total, "activation capture (the inputs of every component)");
    capture_store_.reset(static_cast<std::byte*>(std::aligned_alloc(64, static_cast<size_t>(std::max<int64_t>(total, 64)))));
    if (!capture_store_) throw Error("activation capture: could not allocate " + bytes_text(total));
    capture_bytes_ = total;
  }

  void ensure_setup() {
    if (!has_setup_ || setup_done_) return;
    setup_plan_.prepare();
    for (const auto& step : setup_plan_.steps) step.run();
    setup_done_ = true;
  }

  void run_step(const Plan& plan, size_t i) {
    ComponentObserver* obs = observer_;
    const auto& step = plan.steps[i];
    if (!obs) {
      step.run();
      return;
    }
    for (int n : plan.begins[i]) obs->on_begin(d_.graph, n);
    if (!step.fused) obs->on_begin(d_.graph, step.node);
    step.run();
    if (!step.fused) obs->on_end(d_.graph, step.node);
    for (int n : plan.ends[i]) obs->on_end(d_.graph, n);
  }

  void run_plan(const Plan& plan) {
    if (!observer_) {
      for (const auto& step : plan.steps) step.run();
      return;
    }
    for (size_t i = 0; i < plan.steps.size(); ++i) run_step(plan, i);
  }
};

std::unique_ptr<CpuEngine> make_engine(const ModelConfig& config, const Workload& workload, const EngineOptions& options,
                                       WeightStore* given) {
  validate_workload(config, workload);
  if (workload.dtype != DType::fp32 && workload.dtype != DType::bf16)
    throw Error(std::string("dtype: the CPU engine runs fp32 or bf16, not ") + to_string(workload.dtype));
  if (options.dtype != workload.dtype && options.dtype != DType::fp32)
    throw Error("dtype: engine options and workload disagree");
  EngineOptions opts = options;
  opts.dtype = workload.dtype != DType::fp32 ? workload.dtype : options.dtype;
  if (opts.dtype != DType::fp32 && opts.dtype != DType::bf16)
    throw Error(std::string("dtype: the CPU engine runs fp32 or bf16, not ") + to_string(opts.dtype));
  if (opts.dtype == DType::bf16) {
    std::string why;
    if (!kernels::bf16_supported(&why))
      throw Error("dtype bf16: this CPU cannot run bf16 matrix products natively (" + why + "); use fp32");
  }
  Workload wl = workload;
  wl.dtype = opts.dtype;
  ComponentGraph graph = build_graph(config);
  MemoryEstimate need = estimate_cpu_memory(graph, wl, opts);
  std::string source;
  int64_t limit = memory_limit(opts, &source);
  if (limit > 0 && need.total() > limit)
    throw Error("model " + config.name + " does not fit in memory: it needs about " + bytes_text(need.total()) +
                " (weights " + bytes_text(need.weights) + ", activations " + bytes_text(need.activations) +
                ", KV cache " + bytes_text(need.kv_cache) + ") but only " + bytes_text(limit) + " are available (" +
                source + ")");
  WeightStore weights;
  if (given) {
    weights = std::move(*given);
  } else if (!opts.weights.empty()) {
    weights = load_weights(graph, opts.weights);
  } else {
    weights = clear::random_weights(graph, opts.seed);
  }
  return std::make_unique<CpuEngineImpl>(std::move(graph), wl, opts, std::move(weights));
}

}  // namespace

std::unique_ptr<CpuEngine> make_cpu_engine(const ModelConfig& config, const Workload& workload,
                                           const EngineOptions& options) {
  return make_engine(config, workload, options, nullptr);
}

std::unique_ptr<CpuEngine> make_cpu_engine(const ModelConfig& config, const Workload& workload,
                                           const EngineOptions& options, WeightStore weights) {
  return make_engine(config, workload, options, &weights);
}

std::unique_ptr<Backend> make_cpu_backend(const ModelConfig& config, const Workload& workload,
                                          const EngineOptions& options) {
  return make_cpu_engine(config, workload, options);
}

std::unique_ptr<Backend> make_cpu_backend(const ModelConfig& config, const Workload& workload,
                                          const EngineOptions& options, WeightStore weights) {
  return make_cpu_engine(config, workload, options, std::move(weights));
}

}  // namespace clear
