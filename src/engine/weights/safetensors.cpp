// Safetensors header validation, dtype conversion and the read-only memory mapping.
// The rules are listed in include/clear/engine/safetensors.hpp and docs/WEIGHTS.md.
#include "clear/engine/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clear/util/error.hpp"

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader uses it in place");

namespace clear::safetensors {
namespace {

struct DtypeInfo {
  Dtype dtype;
  const char* name;
  int64_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {Dtype::BOOL, "BOOL", 1}, {Dtype::U8, "U8", 1},     {Dtype::I8, "I8", 1},
    {Dtype::F8_E5M2, "F8_E5M2", 1}, {Dtype::F8_E4M3, "F8_E4M3", 1},
    {Dtype::I16, "I16", 2},   {Dtype::U16, "U16", 2},   {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2}, {Dtype::I32, "I32", 4},   {Dtype::U32, "U32", 4},
    {Dtype::F32, "F32", 4},   {Dtype::F64, "F64", 8},   {Dtype::I64, "I64", 8},
    {Dtype::U64, "U64", 8},
};

std::string known_dtype_list() {
  std::string s;
  for (const auto& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A JSON value that is a non-negative integer (3, not 3.0 or -1).
bool as_index(const nlohmann::json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

TensorInfo parse_tensor(const std::string& where, const std::string& name, const nlohmann::json& entry) {
  const std::string at = where + ": tensor '" + name + "': ";
  if (!entry.is_object()) throw Error(at + "expected an object with dtype, shape and data_offsets");
  for (const auto& [key, value] : entry.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(at + "unknown field '" + key + "' (expected dtype, shape, data_offsets)");
  TensorInfo t;
  t.name = name;

  auto dt = entry.find("dtype");
  if (dt == entry.end() || !dt->is_string()) throw Error(at + "missing string field 'dtype'");
  const std::string dname = dt->get<std::string>();
  const DtypeInfo* info = nullptr;
  for (const auto& d : kDtypes)
    if (dname == d.name) info = &d;
  if (!info) throw Error(at + "unknown dtype '" + dname + "' (known: " + known_dtype_list() + ")");
  t.dtype = info->dtype;

  auto sh = entry.find("shape");
  if (sh == entry.end() || !sh->is_array()) throw Error(at + "missing array field 'shape'");
  uint64_t bytes = static_cast<uint64_t>(info->size);
  for (const auto& d : *sh) {
    uint64_t dim;
    if (!as_index(d, &dim) || dim > static_cast<uint64_t>(INT64_MAX))
      throw Error(at + "shape must hold non-negative integers, found " + d.dump());
    if (__builtin_mul_overflow(bytes, dim, &bytes)) throw Error(at + "shape " + sh->dump() + " overflows 64 bits");
    t.shape.push_back(static_cast<int64_t>(dim));
  }

  auto off = entry.find("data_offsets");
  if (off == entry.end() || !off->is_array() || off->size() != 2 || !as_index((*off)[0], &t.begin) ||
      !as_index((*off)[1], &t.end))
    throw Error(at + "'data_offsets' must be [begin, end] with non-negative integers");
  if (t.end < t.begin)
    throw Error(at + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] end before begin");
  if (t.end - t.begin != bytes)
    throw Error(at + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] span " +
                std::to_string(t.end - t.begin) + " bytes, but shape " + sh->dump() + " of " + dname + " needs " +
                std::to_string(bytes));
  return t;
}

std::string range(const TensorInfo& t) {
  return "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + ")";
}

}  // namespace

const char* to_string(Dtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.name;
  return "?";
}

int64_t dtype_size(Dtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.size;
  return 0;
}

bool is_weight_dtype(Dtype d) { return d == Dtype::F32 || d == Dtype::F16 || d == Dtype::BF16; }

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const TensorInfo* Header::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Header parse_header(std::span<const std::byte> bytes, const std::string& file_name) {
  const uint64_t size = bytes.size();
  if (size < 8)
    throw Error(file_name + ": truncated safetensors file: " + std::to_string(size) +
                " bytes, fewer than the 8-byte header length");
  const uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > kMaxHeaderBytes)
    throw Error(file_name + ": header length " + std::to_string(header_len) + " exceeds the limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes");
  if (header_len > size - 8)
    throw Error(file_name + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                std::to_string(size) + " bytes)");

  Header header;
  header.data_start = 8 + header_len;
  const uint64_t data_size = size - header.data_start;
  const char* text = reinterpret_cast<const char*>(bytes.data() + 8);

  // The format nests three levels deep at most; a deeper document is refused while parsing.
  bool too_deep = false;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text, text + header_len,
                                 [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
                                   if (depth > 4) too_deep = true;
                                   return depth <= 4;
                                 });
  } catch (const nlohmann::json::exception& e) {
    throw Error(file_name + ": header is not valid JSON: " + e.what());
  }
  if (too_deep) throw Error(file_name + ": header nests deeper than the safetensors format allows");
  if (!json.is_object()) throw Error(file_name + ": header must be a JSON object of tensors");

  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(file_name + ": __metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) throw Error(file_name + ": __metadata__ field '" + key + "' must be a string");
        header.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_tensor(file_name, name, entry));
  }

  // Offsets inside the data section, no overlaps and no holes: sorted by offset, each tensor
  // starts where the previous one ended and the last one ends at the end of the file.
  std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const auto& t : header.tensors) {
    if (t.end > data_size)
      throw Error(file_name + ": tensor '" + t.name + "': data_offsets " + range(t) +
                  " lie outside the data section (" + std::to_string(data_size) + " bytes)");
    if (t.begin < covered)
      throw Error(file_name + ": tensor '" + t.name + "': data " + range(t) + " overlaps tensor '" +
                  previous->name + "' " + range(*previous));
    if (t.begin > covered)
      throw Error(file_name + ": hole in the data section: bytes [" + std::to_string(covered) + ", " +
                  std::to_string(t.begin) + ") before tensor '" + t.name + "' belong to no tensor");
    covered = t.end;
    previous = &t;
  }
  if (covered != data_size)
    throw Error(file_name + ": " + std::to_string(data_size - covered) + " bytes after the last tensor" +
                (previous ? " '" + previous->name + "'" : std::string()) + " belong to no tensor");
  return header;
}

void convert_to_f32(Dtype dtype, const std::byte* src, int64_t n, float* dst) {
  switch (dtype) {
    case Dtype::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case Dtype::BF16:
      // bf16 is the upper half of an fp32.
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
      }
      return;
    case Dtype::F16:
      // IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
        const uint32_t magnitude = h & 0x7fffu;
        uint32_t bits;
        if (magnitude >= 0x7c00u) {  // inf / nan
          bits = sign | 0x7f800000u | ((magnitude & 0x3ffu) << 13);
        } else if (magnitude >= 0x0400u) {  // normal: rebias the exponent by 127 - 15
          bits = sign | ((magnitude + ((127u - 15u) << 10)) << 13);
        } else {  // zero or subnormal: magnitude x 2^-24, exact in fp32
          bits = sign | std::bit_cast<uint32_t>(static_cast<float>(magnitude) * 0x1p-24f);
        }
        dst[i] = std::bit_cast<float>(bits);
      }
      return;
    default:
      throw Error(std::string("convert_to_f32: dtype ") + to_string(dtype) + " is not a weight dtype");
  }
}

// ---- MappedFile ----

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const std::string name = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(name + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(name + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(name + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) throw Error(name + ": cannot memory-map: " + std::strerror(err));
    base_ = static_cast<const std::byte*>(p);
  } else {
    ::close(fd);
  }
  try {
    header_ = parse_header({base_, size_}, name);
  } catch (...) {
    if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
    base_ = nullptr;
    throw;
  }
}

MappedFile::~MappedFile() {
  if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path_(std::move(o.path_)), base_(o.base_), size_(o.size_), header_(std::move(o.header_)) {
  o.base_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (base_) ::munmap(const_cast<std::byte*>(base_), size_);
    path_ = std::move(o.path_);
    base_ = o.base_;
    size_ = o.size_;
    header_ = std::move(o.header_);
    o.base_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

const std::byte* MappedFile::data(const TensorInfo& tensor) const {
  return base_ + header_.data_start + tensor.begin;
}

void MappedFile::release(const TensorInfo& tensor) const {
  // Only pages wholly inside the tensor: a neighbour sharing a page keeps it resident.
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = (header_.data_start + tensor.begin + page - 1) / page * page;
  const uint64_t end = (header_.data_start + tensor.end) / page * page;
  if (base_ && end > begin) ::madvise(const_cast<std::byte*>(base_) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace clear::safetensors
