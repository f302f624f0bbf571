// load_weights: a Hugging Face checkpoint -> canonical fp32 tensors. Each canonical parameter is
// looked up under its Hugging Face name (hf_names.cpp), checked (dtype, shape), then used in place
// from the mapping when it already is aligned fp32 needing no transform, else converted into an
// owned fp32 buffer. Tied copies must equal their owner; anything else left over is an error
// unless it is a known buffer or a head this model class does not carry.
#include <cstring>
#include <map>
#include <set>

#include "clear/util/error.hpp"
#include "engine/kernels/parallel.hpp"
#include "engine/weights/hf_names.hpp"
#include "engine/weights/weight_store_impl.hpp"

namespace clear {
namespace {

using safetensors::Checkpoint;

struct Found {
  std::string name;  // as stored in the checkpoint
  const Checkpoint::Entry* entry = nullptr;
};

std::string file_of(const Found& f) { return f.entry->file->path().string(); }

// Legacy names: old BERT-era checkpoints call LayerNorm parameters gamma/beta (transformers
// renames them on load too).
std::string legacy_name(const std::string& name) {
  auto ends = [&](const std::string& tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (ends(".weight")) return name.substr(0, name.size() - 6) + "gamma";
  if (ends(".bias")) return name.substr(0, name.size() - 4) + "beta";
  return "";
}

Found lookup(const ModelConfig& config, const Checkpoint& ckpt, const hf::HfTensor& t) {
  for (const auto& name : hf::checkpoint_names(config, t)) {
    if (const auto* e = ckpt.find(name)) return {name, e};
    const std::string legacy = legacy_name(name);
    if (!legacy.empty())
      if (const auto* e = ckpt.find(legacy)) return {legacy, e};
  }
  return {};
}

// The stored shape a canonical shape corresponds to.
std::vector<int64_t> stored_shape(const std::vector<int64_t>& canonical, hf::Transform transform) {
  if (transform == hf::Transform::transpose && canonical.size() == 2) return {canonical[1], canonical[0]};
  if (transform == hf::Transform::unsqueeze) {
    std::vector<int64_t> stored{1};
    stored.insert(stored.end(), canonical.begin(), canonical.end());
    return stored;
  }
  return canonical;
}

void check_dtype(const Found& f, const std::string& canonical) {
  const auto dtype = f.entry->tensor->dtype;
  if (!safetensors::is_weight_dtype(dtype))
    throw Error("tensor " + f.name + " in " + file_of(f) + ": dtype " + safetensors::to_string(dtype) +
                " cannot hold a weight (canonical " + canonical + "; expected F32, F16 or BF16)");
}

// fp32 values of a stored tensor in canonical layout.
std::vector<float> convert(const Found& f, hf::Transform transform) {
  const auto& info = *f.entry->tensor;
  std::vector<float> values(static_cast<size_t>(info.numel()));
  const std::byte* src = f.entry->file->data(info);
  const int64_t size = safetensors::dtype_size(info.dtype);
  kernels::parallel_for(info.numel(), int64_t{1} << 16, [&](int64_t begin, int64_t end) {
    safetensors::convert_to_f32(info.dtype, src + begin * size, end - begin, values.data() + begin);
  });
  if (transform == hf::Transform::transpose) {
    // Conv1D stores [in, out]; canonical linear weights are [out, in]. O(in*out) copies.
    const int64_t in = info.shape[0], out = info.shape[1];
    std::vector<float> t(values.size());
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < out; ++o) t[o * in + i] = values[i * out + o];
    values.swap(t);
  }
  return values;
}

// A parameter of a head that this model class does not carry (BertModel given a BertForMaskedLM
// checkpoint: cls.*; BertForMaskedLM given bert.pooler.*; ViTModel given classifier.*).
bool is_absent_head(const std::string& canonical, const ComponentGraph& graph) {
  for (std::string head : {"lm_head", "pooler", "classifier"}) {
    if (canonical.rfind(head + ".", 0) == 0 && graph.find(head) < 0) return true;
  }
  return false;
}

}  // namespace

WeightStore load_weights(const ComponentGraph& graph, const std::filesystem::path& dir) {
  const ModelConfig& config = graph.config;
  auto ckpt = std::make_shared<const Checkpoint>(dir);
  auto impl = std::make_unique<WeightStore::Impl>();
  impl->checkpoint = ckpt;
  impl->description = "weights from " + dir.string();
  std::set<std::string> consumed;
  std::map<std::string, std::string> loaded_from;  // canonical -> checkpoint name

  for (const auto& p : graph.parameters()) {
    const hf::HfTensor t = hf::to_hf(config, p.name);
    const Found f = lookup(config, *ckpt, t);
    if (!f.entry) {
      const auto names = hf::checkpoint_names(config, t);
      throw Error("missing tensor " + names.front() + (names.size() > 1 ? " (or " + names[1] + ")" : "") +
                  " (canonical " + p.name + ", shape " + shape_string(stored_shape(p.shape, t.transform)) +
                  ") in " + ckpt->files_description());
    }
    check_dtype(f, p.name);
    const auto& info = *f.entry->tensor;
    const auto expected = stored_shape(p.shape, t.transform);
    if (info.shape != expected)
      throw Error("tensor " + f.name + " in " + file_of(f) + ": expected shape " + shape_string(expected) +
                  " (canonical " + p.name + "), found " + shape_string(info.shape));
    consumed.insert(f.name);
    loaded_from[p.name] = f.name;

    const std::byte* bytes = f.entry->file->data(info);
    const bool aligned = reinterpret_cast<uintptr_t>(bytes) % alignof(float) == 0;
    if (info.dtype == safetensors::Dtype::F32 && t.transform != hf::Transform::transpose && aligned) {
      WeightTensor& w = impl->tensors[p.name];  // zero copy: the mapping is the tensor
      w.shape = p.shape;
      w.data = reinterpret_cast<const float*>(bytes);
      w.file = f.entry->file;
      w.info = &info;
    } else {
      impl->add_owned(p.name, p.shape, convert(f, t.transform));
    }
  }

  // Tied copies (lm_head.weight of a tied GPT-2, T5's encoder.embed_tokens): equal to the owner.
  for (const auto& copy : hf::tied_copies(graph)) {
    const Found f = lookup(config, *ckpt, copy);
    if (!f.entry) continue;
    check_dtype(f, copy.canonical);
    const auto& owner = impl->tensors.at(copy.canonical);
    const auto expected = stored_shape(owner.shape, copy.transform);
    if (f.entry->tensor->shape != expected)
      throw Error("tensor " + f.name + " in " + file_of(f) + ": expected shape " + shape_string(expected) +
                  " (tied copy of canonical " + copy.canonical + "), found " + shape_string(f.entry->tensor->shape));
    const auto values = convert(f, copy.transform);
    if (std::memcmp(values.data(), owner.data, values.size() * sizeof(float)) != 0)
      throw Error("tensor " + f.name + " in " + file_of(f) + ": a tied copy of canonical " + copy.canonical +
                  " (" + hf::to_hf(config, copy.canonical).name + ") but its values differ; this model ties them");
    consumed.insert(f.name);
  }

  // Whatever is left: known buffers and absent heads are skipped, the rest is an error.
  const std::string prefix = hf::base_prefix(config.family);
  for (const auto& [name, entry] : ckpt->tensors()) {
    if (consumed.count(name)) continue;
    const std::string where = "tensor " + name + " in " + entry.file->path().string();
    hf::HfTensor rule;
    bool known = false;
    if (!prefix.empty() && name.rfind(prefix + ".", 0) == 0)
      known = hf::from_hf(config, name.substr(prefix.size() + 1), true, &rule);
    else
      known = hf::from_hf(config, name, false, &rule) || hf::from_hf(config, name, true, &rule);
    if (known && rule.kind == hf::RuleKind::buffer) continue;
    if (known && rule.kind == hf::RuleKind::zero_buffer) {
      check_dtype({name, &entry}, name);
      const auto values = convert({name, &entry}, hf::Transform::none);
      for (float v : values)
        if (v != 0.0f) throw Error(where + ": non-zero values are not supported (CLEAR adds no such bias)");
      continue;
    }
    if (known && rule.kind == hf::RuleKind::other_head) {
      impl->skipped.push_back(name + " (a head " + config.architecture + " does not carry)");
      continue;
    }
    if (known && rule.kind == hf::RuleKind::param && is_absent_head(rule.canonical, graph)) {
      impl->skipped.push_back(name + " (canonical " + rule.canonical + ": a head " + config.architecture +
                              " does not carry)");
      continue;
    }
    if (known && loaded_from.count(rule.canonical))
      throw Error("unexpected " + where + ": a second tensor for canonical " + rule.canonical + ", already read from " +
                  loaded_from.at(rule.canonical) + " (a checkpoint holds names with or without the '" + prefix +
                  ".' prefix, not both)");
    if (known && !rule.canonical.empty())
      throw Error("unexpected " + where + ": it would hold canonical " + rule.canonical + ", which " +
                  config.architecture + " (" + config.name + ") does not have");
    throw Error("unexpected " + where + ": not a tensor of " + to_string(config.family) + " model " + config.name +
                " (known names: docs/WEIGHTS.md)");
  }
  return WeightStore(std::move(impl));
}

}  // namespace clear
