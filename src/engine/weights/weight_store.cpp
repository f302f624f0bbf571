// WeightStore: fp32 tensors by canonical name, mapped from a checkpoint or owned; and weights
// given directly by canonical name, checked against the graph like a checkpoint.
#include <set>

#include "clear/util/error.hpp"
#include "engine/weights/weight_store_impl.hpp"

namespace clear {

int64_t WeightTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void WeightStore::Impl::add_owned(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
  WeightTensor& t = tensors[name];
  t.shape = std::move(shape);
  t.owned = std::move(values);
  t.data = t.owned.data();
}

void check_against_graph(const ComponentGraph& graph, const WeightStore::Impl& impl, const std::string& what) {
  std::set<std::string> expected;
  for (const auto& p : graph.parameters()) {
    expected.insert(p.name);
    auto it = impl.tensors.find(p.name);
    if (it == impl.tensors.end())
      throw Error(what + ": missing tensor '" + p.name + "' (expected shape " + shape_string(p.shape) + ")");
    if (it->second.shape != p.shape)
      throw Error(what + ": tensor '" + p.name + "': expected shape " + shape_string(p.shape) + ", found " +
                  shape_string(it->second.shape));
  }
  for (const auto& [name, t] : impl.tensors)
    if (!expected.count(name))
      throw Error(what + ": unexpected tensor '" + name + "': " + graph.config.name +
                  " has no such parameter (names as in docs/NAMING.md)");
}

// ---- WeightStore ----

WeightStore::WeightStore() : impl_(std::make_unique<Impl>()) {}
WeightStore::WeightStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WeightStore::~WeightStore() = default;
WeightStore::WeightStore(WeightStore&&) noexcept = default;
WeightStore& WeightStore::operator=(WeightStore&&) noexcept = default;

namespace {
const WeightTensor& get(const WeightStore::Impl* impl, const std::string& name) {
  if (!impl) throw Error("weights: tensor '" + name + "' requested from an empty (moved-from) weight store");
  auto it = impl->tensors.find(name);
  if (it == impl->tensors.end()) throw Error("weights: no tensor '" + name + "' (" + impl->description + ")");
  return it->second;
}
}  // namespace

const float* WeightStore::data(const std::string& name) const {
  const WeightTensor& t = get(impl_.get(), name);
  if (t.released) throw Error("weights: tensor '" + name + "' was released");
  return t.data;
}

const std::vector<int64_t>& WeightStore::shape(const std::string& name) const { return get(impl_.get(), name).shape; }

bool WeightStore::contains(const std::string& name) const { return impl_ && impl_->tensors.count(name) > 0; }

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  if (impl_)
    for (const auto& [name, t] : impl_->tensors) out.push_back(name);
  return out;
}

bool WeightStore::random() const { return impl_ && impl_->random; }
std::string WeightStore::description() const { return impl_ ? impl_->description : "no weights"; }

int64_t WeightStore::bytes() const {
  int64_t n = 0;
  if (impl_)
    for (const auto& [name, t] : impl_->tensors) n += t.numel() * int64_t(sizeof(float));
  return n;
}

int64_t WeightStore::mapped_bytes() const {
  int64_t n = 0;
  if (impl_)
    for (const auto& [name, t] : impl_->tensors)
      if (t.file && !t.released) n += t.numel() * int64_t(sizeof(float));
  return n;
}

int64_t WeightStore::owned_bytes() const {
  int64_t n = 0;
  if (impl_)
    for (const auto& [name, t] : impl_->tensors) n += int64_t(t.owned.size() * sizeof(float));
  return n;
}

bool WeightStore::is_mapped(const std::string& name) const { return get(impl_.get(), name).file != nullptr; }

std::vector<std::string> WeightStore::skipped() const { return impl_ ? impl_->skipped : std::vector<std::string>{}; }

void WeightStore::release(const std::string& name) {
  get(impl_.get(), name);  // names an unknown tensor
  WeightTensor& t = impl_->tensors[name];
  if (t.released) return;
  if (t.file) t.file->release(*t.info);
  std::vector<float>().swap(t.owned);
  t.data = nullptr;
  t.released = true;
}

WeightStore weights_from_tensors(const ComponentGraph& graph, std::map<std::string, std::vector<float>> tensors) {
  const std::string what = "weights given directly";
  auto impl = std::make_unique<WeightStore::Impl>();
  impl->description = what;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : graph.parameters()) shapes[p.name] = p.shape;
  for (auto& [name, values] : tensors) {
    auto it = shapes.find(name);
    if (it == shapes.end())
      throw Error(what + ": unexpected tensor '" + name + "': " + graph.config.name +
                  " has no such parameter (names as in docs/NAMING.md)");
    int64_t expected = 1;
    for (int64_t d : it->second) expected *= d;
    if (int64_t(values.size()) != expected)
      throw Error(what + ": tensor '" + name + "': expected shape " + shape_string(it->second) + " (" +
                  std::to_string(expected) + " values), found " + std::to_string(values.size()) + " values");
    impl->add_owned(name, it->second, std::move(values));
  }
  check_against_graph(graph, *impl, what);
  return WeightStore(std::move(impl));
}

}  // namespace clear
