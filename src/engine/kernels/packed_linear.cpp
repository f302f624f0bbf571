// PackedLinear: y = x·Wᵀ + b. fp32 on AVX-512 runs our own panel GEMM (panel_gemm.hpp: weights
// packed once into 32-column panels, streamed in address order with the next panel prefetched);
// bf16, and fp32 without AVX-512, run a oneDNN matmul whose weights were reordered once into the
// layout the primitive prefers. Either way the packed weights sit in memory backed by 2 MiB pages.
//
// oneDNN path:
// Layout choice: at construction we ask oneDNN for a matmul with weights format `any` at a
// representative M (kRepresentativeRows = 128, a typical prefill/encoder row count) and reorder W
// into the layout it picks (for the brgemm kernels: blocks over N and K, e.g. BA16a64b for fp32,
// BA16a64b2a for bf16; the blocking depends on N and K, not M). Every later primitive, for any M, is
// created with that fixed packed layout, so the weights exist once.
//
// prepare(rows) builds the primitive for one (rows, strides, thread count), with its scratchpad, its
// memory objects and, for bf16, the bf16 copy of the activations; forward() then only sets data
// handles and calls dnnl_primitive_execute with a prebuilt argument array (no allocation of ours;
// oneDNN's own execute path may still use small internal containers).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "clear/engine/kernels.hpp"
#include "clear/util/error.hpp"
#include "engine/kernels/huge_pages.hpp"
#include "engine/kernels/onednn.hpp"
#include "engine/kernels/panel_gemm.hpp"
#include "engine/kernels/parallel.hpp"

namespace clear::kernels {
namespace {

std::atomic<bool> g_force_onednn{false};

constexpr int64_t kRepresentativeRows = 128;

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dt onednn_type(DType dtype) {
  switch (dtype) {
    case DType::fp32: return dt::f32;
    case DType::bf16: return dt::bf16;
    default: throw Error(std::string("--dtype: PackedLinear supports fp32 and bf16, got ") + to_string(dtype));
  }
}

std::string shape_note(int64_t rows, int64_t in, int64_t out) {
  return "[" + std::to_string(rows) + "," + std::to_string(in) + "]x[" + std::to_string(in) + "," + std::to_string(out) + "]";
}

}  // namespace

struct PackedLinear::Impl {
  int64_t out = 0, in = 0;
  DType dtype = DType::fp32;
  HugePageBuffer storage;  // the packed weights, of either path
  // Own panel GEMM (fp32, AVX-512): the panels in storage and an fp32 copy of the bias.
  bool panels = false;
  std::vector<float> panel_bias;
  // oneDNN path: its packed layout and a memory object over storage.
  dnnl::memory::desc packed_md;
  dnnl::memory weights;
  dnnl::memory bias;     // f32 [1, out], empty when none
  std::string impl_name;

  struct Entry {
    int64_t rows = 0, ldx = 0, ldy = 0;
    int threads = 0;
    dnnl::matmul prim;
    dnnl::memory src, dst, scratch;
    std::vector<uint16_t> x_bf16;  // bf16 activations (bf16 only)
    std::vector<float> x_dense, y_dense;  // gathered / to-be-scattered strided rows (fp32)
    std::vector<dnnl_exec_arg_t> args;
  };
  mutable std::mutex mutex;
  mutable std::vector<std::unique_ptr<Entry>> entries;

  dnnl::memory::desc bias_md() const { return bias ? bias.get_desc() : dnnl::memory::desc(); }

  // The matmul for (rows, ldx, ldy). oneDNN 2.6's brgemm kernels take neither a strided source
  // nor a strided destination (it falls back to its slow reference kernel), so strided rows are
  // gathered into / scattered from dense buffers of the entry instead.
  Entry& prepare(int64_t rows, int64_t ldx, int64_t ldy) const {
    int nthreads = threads();
    for (auto& e : entries)
      if (e->rows == rows && e->ldx == ldx && e->ldy == ldy && e->threads == nthreads) return *e;
    sync_onednn_threads();  // oneDNN fixes its thread split when the primitive is created
    auto e = std::make_unique<Entry>();
    e->rows = rows;
    e->ldx = ldx;
    e->ldy = ldy;
    e->threads = nthreads;
    dnnl::engine& eng = onednn_engine();
    dnnl::memory::desc src_md({rows, in}, dtype == DType::bf16 ? dt::bf16 : dt::f32, tag::ab);
    dnnl::memory::desc dst_md({rows, out}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::matmul::primitive_desc pd;
    try {
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, packed_md, bias_md(), dst_md), attr, eng);
    } catch (const dnnl::error& err) {
      throw Error("PackedLinear: oneDNN has no matmul for " + shape_note(rows, in, out) + " in " + to_string(dtype) +
                  " with the packed weight layout: " + err.what());
    }
    e->prim = dnnl::matmul(pd);
    e->src = dnnl::memory(src_md, eng, DNNL_MEMORY_NONE);
    e->dst = dnnl::memory(dst_md, eng, DNNL_MEMORY_NONE);
    e->scratch = dnnl::memory(pd.scratchpad_desc(), eng);
    if (dtype == DType::bf16) {
      e->x_bf16.resize(static_cast<size_t>(rows * in));
      e->src.set_data_handle(e->x_bf16.data());
    } else if (ldx != in) {
      e->x_dense.resize(static_cast<size_t>(rows * in));
      e->src.set_data_handle(e->x_dense.data());
    }
    if (ldy != out) {
      e->y_dense.resize(static_cast<size_t>(rows * out));
      e->dst.set_data_handle(e->y_dense.data());
    }
    e->args = {{DNNL_ARG_SRC, e->src.get()}, {DNNL_ARG_WEIGHTS, weights.get()}, {DNNL_ARG_DST, e->dst.get()},
               {DNNL_ARG_SCRATCHPAD, e->scratch.get()}};
    if (bias) e->args.push_back({DNNL_ARG_BIAS, bias.get()});
    entries.push_back(std::move(e));
    return *entries.back();
  }
};

PackedLinear::PackedLinear(const float* weight, const float* bias, int64_t out_features, int64_t in_features, DType dtype)
    : impl_(std::make_unique<Impl>()) {
  if (out_features <= 0 || in_features <= 0)
    throw Error("PackedLinear: expected positive in/out features, got in=" + std::to_string(in_features) +
                " out=" + std::to_string(out_features));
  Impl& m = *impl_;
  m.out = out_features;
  m.in = in_features;
  m.dtype = dtype;
  dt wt = onednn_type(dtype);
  if (dtype == DType::fp32 && panel_gemm_available() && !g_force_onednn.load()) {
    m.panels = true;
    m.storage = allocate_huge_page_buffer(size_t(panel_packed_floats(out_features, in_features)) * sizeof(float),
                                          "PackedLinear");
    pack_panels(weight, out_features, in_features, static_cast<float*>(m.storage.get()));
    if (bias) m.panel_bias.assign(bias, bias + out_features);
    m.impl_name = "clear:panel_gemm_avx512";
    return;
  }
  dnnl::engine& eng = onednn_engine();
  sync_onednn_threads();
  // W is [out, in] row-major = the K×N matrix with strides (1, K): format ba.
  dnnl::memory::desc user_w_md({in_features, out_features}, dt::f32, tag::ba);
  dnnl::memory::desc any_w_md({in_features, out_features}, wt, tag::any);
  dnnl::memory::desc src_md({kRepresentativeRows, in_features}, wt, tag::ab);
  dnnl::memory::desc dst_md({kRepresentativeRows, out_features}, dt::f32, tag::ab);
  dnnl::memory::desc bias_md;
  if (bias) {
    m.bias = dnnl::memory(dnnl::memory::desc({1, out_features}, dt::f32, tag::ab), eng);
    std::copy(bias, bias + out_features, static_cast<float*>(m.bias.get_data_handle()));
    bias_md = m.bias.get_desc();
  }
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, any_w_md, bias_md, dst_md), eng);
  } catch (const dnnl::error& err) {
    throw Error("PackedLinear: oneDNN has no matmul for " + shape_note(kRepresentativeRows, in_features, out_features) +
                " in " + to_string(dtype) + ": " + err.what());
  }
  m.impl_name = pd.impl_info_str();
  m.packed_md = pd.weights_desc();
  m.storage = allocate_huge_page_buffer(m.packed_md.get_size(), "PackedLinear");
  m.weights = dnnl::memory(m.packed_md, eng, m.storage.get());
  dnnl::memory user_w(user_w_md, eng, const_cast<float*>(weight));
  dnnl::reorder(user_w, m.weights).execute(onednn_stream(), user_w, m.weights);
  onednn_stream().wait();
}

PackedLinear::~PackedLinear() = default;
PackedLinear::PackedLinear(PackedLinear&&) noexcept = default;
PackedLinear& PackedLinear::operator=(PackedLinear&&) noexcept = default;

void PackedLinear::prepare(int64_t rows) {
  if (rows <= 0) throw Error("PackedLinear::prepare: expected rows > 0, got " + std::to_string(rows));
  if (impl_->panels) return;  // the panel GEMM needs nothing per row count
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->prepare(rows, impl_->in, impl_->out);
}

void PackedLinear::forward(const float* x, float* y, int64_t rows) const {
  forward_strided(x, impl_->in, y, impl_->out, rows);
}

void PackedLinear::forward_strided(const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows) const {
  const Impl& m = *impl_;
  if (rows == 0) return;
  if (rows < 0 || ldx < m.in || ldy < m.out)
    throw Error("PackedLinear::forward: expected rows >= 0, ldx >= " + std::to_string(m.in) + ", ldy >= " +
                std::to_string(m.out) + "; got rows=" + std::to_string(rows) + " ldx=" + std::to_string(ldx) +
                " ldy=" + std::to_string(ldy));
  if (m.panels) {
    panel_gemm(x, ldx, static_cast<const float*>(m.storage.get()), m.panel_bias.empty() ? nullptr : m.panel_bias.data(), y,
               ldy, rows, m.out, m.in);
    return;
  }
  std::lock_guard<std::mutex> lock(m.mutex);
  Impl::Entry& e = m.prepare(rows, ldx, ldy);
  sync_onednn_threads();
  if (m.dtype == DType::bf16) {
    to_bf16(x, ldx, e.x_bf16.data(), rows, m.in);
  } else if (ldx != m.in) {
    for (int64_t r = 0; r < rows; ++r) std::copy(x + r * ldx, x + r * ldx + m.in, e.x_dense.data() + r * m.in);
  } else {
    e.src.set_data_handle(const_cast<float*>(x));
  }
  if (ldy == m.out) e.dst.set_data_handle(y);
  dnnl_status_t status = dnnl_primitive_execute(e.prim.get(), onednn_stream().get(), static_cast<int>(e.args.size()), e.args.data());
  if (status != dnnl_success)
    throw Error("PackedLinear: oneDNN matmul " + shape_note(rows, m.in, m.out) + " failed with status " + std::to_string(status));
  onednn_stream().wait();
  if (ldy != m.out)
    for (int64_t r = 0; r < rows; ++r) std::copy(e.y_dense.data() + r * m.out, e.y_dense.data() + (r + 1) * m.out, y + r * ldy);
}

int64_t PackedLinear::in_features() const { return impl_->in; }
int64_t PackedLinear::out_features() const { return impl_->out; }
int64_t PackedLinear::packed_bytes() const {
  if (impl_->panels) return panel_packed_floats(impl_->out, impl_->in) * 4 + int64_t(impl_->panel_bias.size()) * 4;
  return static_cast<int64_t>(impl_->packed_md.get_size()) + (impl_->bias ? impl_->out * 4 : 0);
}
std::string PackedLinear::implementation() const { return impl_->impl_name; }

void force_onednn_fp32(bool onednn) { g_force_onednn.store(onednn); }

}  // namespace clear::kernels
