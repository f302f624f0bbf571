#pragma once
// Memory for packed weights, backed by 2 MiB pages where the kernel allows it.
//
// Why: a forward pass streams every packed weight matrix once (340 MB for BERT-base), so each
// matmul starts with its weights out of cache, and on 4 KiB pages every 4 KiB of weights also
// costs a TLB miss and a page walk. With transparent huge pages in `madvise` mode (Debian's
// default) nothing gets 2 MiB pages unless asked.
#include <cstddef>
#include <memory>

namespace clear::kernels {

struct HugePageDeleter {
  size_t bytes = 0;
  void operator()(void* p) const;
};
using HugePageBuffer = std::unique_ptr<void, HugePageDeleter>;

// `bytes` of zeroed memory starting on a 2 MiB boundary, advised MADV_HUGEPAGE, so every whole
// 2 MiB inside it can be one page; the tail past the last whole 2 MiB stays on 4 KiB pages (no
// rounding up, no waste). Throws clear::Error naming `what` when the memory cannot be mapped.
HugePageBuffer allocate_huge_page_buffer(size_t bytes, const char* what);

}  // namespace clear::kernels
