#pragma once
// Safetensors files (https://github.com/huggingface/safetensors), validated before any byte of
// tensor data is used, and read through a read-only memory mapping.
//
// Layout: u64 little-endian header length N, N bytes of JSON header, then the data section.
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section) and may hold a "__metadata__" object of strings.
// Validation (parse_header): N within the file and at most kMaxHeaderBytes; the header a JSON
// object; every dtype a known safetensors dtype; shapes non-negative integers; begin <= end,
// end inside the data section; end - begin == product(shape) x dtype size; no two tensors
// overlap and together they cover the data section exactly (no holes, nothing after the last).
// Every error names the file and, where one is involved, the tensor.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace clear::safetensors {

inline constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MB, as the reference implementation

// Every dtype the safetensors format defines. Weights accept F32, F16 and BF16; the rest are
// recognised (so the error can say what was found) but refused where a weight is needed.
enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

const char* to_string(Dtype);
int64_t dtype_size(Dtype);
bool is_weight_dtype(Dtype);  // F32, F16 or BF16

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data section
  uint64_t end = 0;
  int64_t numel() const;
};

struct Header {
  std::vector<TensorInfo> tensors;              // in order of data offset
  std::map<std::string, std::string> metadata;  // "__metadata__", if present
  uint64_t data_start = 0;                      // file offset of the data section (8 + N)
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
};

// Validates a whole file held in memory (see the rules above). `file_name` names it in errors.
// Throws clear::Error on any violation; never reads outside `bytes`.
Header parse_header(std::span<const std::byte> bytes, const std::string& file_name);

// Converts n values of a weight dtype (F32, F16, BF16; little-endian, any alignment) to fp32.
// F16 and BF16 convert exactly (every value is representable in fp32).
void convert_to_f32(Dtype dtype, const std::byte* src, int64_t n, float* dst);

// A safetensors file mapped read-only (mmap) and validated. Move-only; unmaps on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&&) noexcept;
  MappedFile& operator=(MappedFile&&) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const Header& header() const { return header_; }
  // First byte of a tensor's data inside the mapping.
  const std::byte* data(const TensorInfo& tensor) const;
  // Gives the pages that lie wholly inside [begin, end) of a tensor back to the kernel
  // (madvise MADV_DONTNEED); the mapping stays valid and would re-read the file if touched.
  void release(const TensorInfo& tensor) const;
  uint64_t size() const { return size_; }

 private:
  std::filesystem::path path_;
  const std::byte* base_ = nullptr;
  uint64_t size_ = 0;
  Header header_;
};

// A checkpoint: one file (model.safetensors) or shards listed by model.safetensors.index.json.
// Sharded: every tensor of weight_map must be in the shard it names, every shard named must
// exist, and every tensor of a shard must be listed under that shard.
class Checkpoint {
 public:
  // `path`: a folder holding model.safetensors or model.safetensors.index.json, or either file.
  explicit Checkpoint(const std::filesystem::path& path);
  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  struct Entry {
    const MappedFile* file = nullptr;
    const TensorInfo* tensor = nullptr;
  };
  const Entry* find(const std::string& name) const;  // nullptr when absent
  const std::map<std::string, Entry>& tensors() const { return tensors_; }
  // "model.safetensors" or "model.safetensors.index.json (3 shards)": what was searched.
  std::string files_description() const;
  const std::filesystem::path& source() const { return source_; }

 private:
  std::filesystem::path source_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, Entry> tensors_;
  std::string description_;
};

}  // namespace clear::safetensors
