// The safetensors reader: values round-trip for F32/F16/BF16 storage, and every malformed file
// gives an error that names the file and the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "clear/engine/safetensors.hpp"
#include "clear/util/error.hpp"
#include "support/safetensors_writer.hpp"
#include "support/test_support.hpp"

namespace {

using namespace clear;
using namespace clear::testing;
namespace st = clear::safetensors;

// Runs `f`, expecting a clear::Error whose message holds every one of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\n  lacks: " << p;
  }
}

std::vector<float> values_of(const st::MappedFile& file, const std::string& name) {
  const st::TensorInfo* t = file.header().find(name);
  EXPECT_NE(t, nullptr) << name;
  std::vector<float> out(size_t(t->numel()));
  st::convert_to_f32(t->dtype, file.data(*t), t->numel(), out.data());
  return out;
}

class StorageTest : public ::testing::TestWithParam<StoreAs> {};

TEST_P(StorageTest, ValuesRoundTripExactly) {
  SCOPED_TRACE(seed_note());
  const StoreAs as = GetParam();
  TempDir dir;
  auto a = random_floats(6 * 5, -3.0f, 3.0f);
  auto b = random_floats(7, -1e-3f, 1e-3f);
  // Edge values: signed zero, halves' subnormals and largest normal, a tie that rounds to even.
  std::vector<float> edges = {0.0f, -0.0f, 5.96046448e-08f, -6.1e-05f, 65504.0f, 1.0f + 1.0f / 2048.0f, 1e-40f, -2.5f};
  write_safetensors(dir / "m.safetensors", {make_tensor("a", {6, 5}, a, as), make_tensor("b", {7}, b, as),
                                            make_tensor("edges", {8}, edges, as)});
  st::MappedFile file(dir / "m.safetensors");
  EXPECT_EQ(file.header().metadata.at("format"), "pt");
  ASSERT_EQ(file.header().tensors.size(), 3u);
  for (auto [name, written] : {std::pair{"a", a}, std::pair{"b", b}, std::pair{"edges", edges}}) {
    const auto got = values_of(file, name);
    ASSERT_EQ(got.size(), written.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const double expected = stored_value(written[i], as);
      EXPECT_EQ(double(got[i]), expected) << name << "[" << i << "] written " << written[i];
      EXPECT_EQ(std::signbit(got[i]), std::signbit(written[i])) << name << "[" << i << "]";
      // Rounding stays within half an ulp of the storage type (relative 2^-11 half, 2^-8 bfloat16).
      const double rel = as == StoreAs::F32 ? 0 : as == StoreAs::F16 ? 0x1p-11 : 0x1p-8;
      if (std::fabs(written[i]) > 1e-4) {
        EXPECT_LE(std::fabs(expected - written[i]), rel * std::fabs(written[i]) * 1.0001);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, StorageTest, ::testing::Values(StoreAs::F32, StoreAs::F16, StoreAs::BF16),
                         [](const auto& info) { return std::string(store_name(info.param)); });

TEST(Safetensors, WriterRoundsHalfToNearestEven) {
  // Independent spot checks of the test's own encoder: 1 + 2^-11 is a tie between 1 and 1 + 2^-10.
  EXPECT_EQ(to_f16_bits(1.0f), 0x3c00);
  EXPECT_EQ(to_f16_bits(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(to_f16_bits(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(to_f16_bits(65504.0f), 0x7bff);
  EXPECT_EQ(to_f16_bits(0x1p-24f), 0x0001);
  EXPECT_EQ(to_bf16_bits(1.0f), 0x3f80);
  EXPECT_EQ(f16_value(0x3555), 0.333251953125);
}

TEST(Safetensors, EmptyAndZeroSizedTensorsAreValid) {
  const auto empty = safetensors_bytes({});
  auto h = st::parse_header({reinterpret_cast<const std::byte*>(empty.data()), empty.size()}, "empty");
  EXPECT_TRUE(h.tensors.empty());
  const auto zero = safetensors_bytes({make_tensor("z", {0, 4}, {}, StoreAs::F32), make_tensor("x", {2}, {1, 2}, StoreAs::F32)});
  h = st::parse_header({reinterpret_cast<const std::byte*>(zero.data()), zero.size()}, "zero");
  ASSERT_NE(h.find("z"), nullptr);
  EXPECT_EQ(h.find("z")->numel(), 0);
}

TEST(Safetensors, OtherKnownDtypesParseAndAreNotWeights) {
  StoredTensor ids{"ids", "I64", {3}, std::string(24, '\1')};
  StoredTensor d{"d", "F64", {1}, std::string(8, '\0')};
  const auto bytes = safetensors_bytes({ids, d});
  auto h = st::parse_header({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "f");
  EXPECT_EQ(h.find("ids")->dtype, st::Dtype::I64);
  EXPECT_FALSE(st::is_weight_dtype(st::Dtype::I64));
  EXPECT_FALSE(st::is_weight_dtype(st::Dtype::F64));
  EXPECT_TRUE(st::is_weight_dtype(st::Dtype::BF16));
}

// ---- malformed files: each written to disk and opened, so the error names the path ----

class BadFile : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path(const std::string& name = "bad.safetensors") { return (dir / name).string(); }
  void expect_open_error(const std::string& bytes, const std::vector<std::string>& parts) {
    write_bytes(path(), bytes);
    std::vector<std::string> all = parts;
    all.push_back(path());
    expect_error([&] { st::MappedFile f(path()); }, all);
  }
  std::string good() {
    return safetensors_bytes({make_tensor("w", {2, 3}, random_floats(6), StoreAs::F32),
                              make_tensor("b", {3}, random_floats(3), StoreAs::F32)});
  }
};

TEST_F(BadFile, EmptyFile) { expect_open_error("", {"truncated", "0 bytes"}); }
TEST_F(BadFile, ShorterThanHeaderLength) { expect_open_error("abc", {"truncated"}); }
TEST_F(BadFile, TruncatedData) {
  const auto g = good();
  expect_open_error(g.substr(0, g.size() - 5), {"tensor 'b'", "outside the data section"});
}
TEST_F(BadFile, TruncatedHeader) {
  const auto g = good();
  expect_open_error(g.substr(0, 20), {"header length", "past the end"});
}
TEST_F(BadFile, HeaderLengthPastTheEnd) {
  std::string bytes = raw_safetensors("{}", "");
  bytes[0] = '\x40';  // claims 64 header bytes; the file has 2
  expect_open_error(bytes, {"header length 64", "past the end"});
}
TEST_F(BadFile, HeaderLengthOverTheLimit) {
  std::string bytes = raw_safetensors("{}", "");
  bytes[4] = '\x01';  // 2^32 + 2
  expect_open_error(bytes, {"exceeds the limit"});
}
TEST_F(BadFile, InvalidJson) { expect_open_error(raw_safetensors("{\"w\": {", ""), {"not valid JSON"}); }
TEST_F(BadFile, HeaderNotAnObject) { expect_open_error(raw_safetensors("[1, 2]", ""), {"must be a JSON object"}); }
TEST_F(BadFile, DeeplyNested) {
  expect_open_error(raw_safetensors(std::string(50, '[') + std::string(50, ']'), ""), {"nests deeper"});
}
TEST_F(BadFile, UnknownDtype) {
  expect_open_error(raw_safetensors(R"({"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 2]}})", "ab"),
                    {"tensor 'w'", "unknown dtype 'Q4'"});
}
TEST_F(BadFile, NegativeShape) {
  expect_open_error(raw_safetensors(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "abcd"),
                    {"tensor 'w'", "non-negative integers"});
}
TEST_F(BadFile, FractionalShape) {
  expect_open_error(raw_safetensors(R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", "abcd"),
                    {"tensor 'w'", "non-negative integers"});
}
TEST_F(BadFile, SizeDoesNotMatchShape) {
  expect_open_error(raw_safetensors(R"({"w": {"dtype": "F16", "shape": [3], "data_offsets": [0, 8]}})", "abcdefgh"),
                    {"tensor 'w'", "span 8 bytes", "needs 6"});
}
TEST_F(BadFile, EndBeforeBegin) {
  expect_open_error(raw_safetensors(R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}})", "abcd"),
                    {"tensor 'w'", "end before begin"});
}
TEST_F(BadFile, OffsetsOutsideTheFile) {
  expect_open_error(raw_safetensors(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [1000, 1008]}})", "abcdefgh"),
                    {"tensor 'w'", "outside the data section"});
}
TEST_F(BadFile, OverlappingTensors) {
  expect_open_error(raw_safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                                    std::string(12, 'x')),
                    {"tensor 'b'", "overlaps tensor 'a'"});
}
TEST_F(BadFile, HoleBetweenTensors) {
  expect_open_error(raw_safetensors(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                        "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                                    std::string(12, 'x')),
                    {"hole", "[4, 8)", "tensor 'b'"});
}
TEST_F(BadFile, BytesAfterTheLastTensor) {
  expect_open_error(raw_safetensors(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", std::string(9, 'x')),
                    {"5 bytes after the last tensor 'a'"});
}
TEST_F(BadFile, MissingField) {
  expect_open_error(raw_safetensors(R"({"a": {"dtype": "F32", "data_offsets": [0, 4]}})", "abcd"),
                    {"tensor 'a'", "'shape'"});
}
TEST_F(BadFile, UnknownField) {
  expect_open_error(raw_safetensors(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": 1}})", "abcd"),
                    {"tensor 'a'", "unknown field 'x'"});
}
TEST_F(BadFile, MetadataNotStrings) {
  expect_open_error(raw_safetensors(R"({"__metadata__": {"n": 3}})", ""), {"__metadata__", "'n'"});
}
TEST_F(BadFile, ShapeOverflow) {
  expect_open_error(raw_safetensors(
                        R"({"a": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", ""),
                    {"tensor 'a'", "overflows"});
}

TEST(Safetensors, ReleasedPagesReadBackFromTheFile) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  auto big = random_floats(5 * 4096);  // several pages
  write_safetensors(dir / "m.safetensors", {make_tensor("big", {5, 4096}, big, StoreAs::F32)});
  st::MappedFile file(dir / "m.safetensors");
  const auto before = values_of(file, "big");
  file.release(*file.header().find("big"));
  EXPECT_EQ(values_of(file, "big"), before);
  EXPECT_EQ(before, big);
}

// ---- checkpoints: single file and shards ----

TEST(Checkpoint, ShardedIndexResolvesEveryTensor) {
  SCOPED_TRACE(seed_note());
  TempDir dir;
  auto a = random_floats(4), b = random_floats(6);
  write_sharded(dir.path(), {{make_tensor("a", {4}, a, StoreAs::F32)}, {make_tensor("b", {2, 3}, b, StoreAs::BF16)}});
  st::Checkpoint ckpt(dir.path());
  ASSERT_EQ(ckpt.tensors().size(), 2u);
  EXPECT_NE(ckpt.files_description().find("2 shards"), std::string::npos);
  const auto* eb = ckpt.find("b");
  ASSERT_NE(eb, nullptr);
  EXPECT_NE(eb->file->path().string().find("model-00002-of-00002"), std::string::npos);
  std::vector<float> got(6);
  st::convert_to_f32(eb->tensor->dtype, eb->file->data(*eb->tensor), 6, got.data());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(double(got[size_t(i)]), stored_value(b[size_t(i)], StoreAs::BF16));
}

TEST(Checkpoint, FolderWithoutCheckpoint) {
  TempDir dir;
  expect_error([&] { st::Checkpoint c(dir.path()); }, {dir.path().string(), "model.safetensors"});
}

TEST(Checkpoint, ShardMissing) {
  TempDir dir;
  write_sharded(dir.path(), {{make_tensor("a", {4}, random_floats(4), StoreAs::F32)},
                             {make_tensor("b", {2}, random_floats(2), StoreAs::F32)}});
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  expect_error([&] { st::Checkpoint c(dir.path()); }, {"model-00002-of-00002.safetensors", "does not exist", "'b'"});
}

TEST(Checkpoint, TensorInTheWrongShard) {
  TempDir dir;
  write_safetensors(dir / "one.safetensors", {make_tensor("a", {4}, random_floats(4), StoreAs::F32)});
  write_safetensors(dir / "two.safetensors", {make_tensor("b", {4}, random_floats(4), StoreAs::F32)});
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "two.safetensors", "b": "two.safetensors"}})");
  expect_error([&] { st::Checkpoint c(dir.path()); }, {"'a'", "two.safetensors"});
}

TEST(Checkpoint, TensorNotListed) {
  TempDir dir;
  write_safetensors(dir / "one.safetensors", {make_tensor("a", {4}, random_floats(4), StoreAs::F32),
                                              make_tensor("c", {1}, random_floats(1), StoreAs::F32)});
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "one.safetensors"}})");
  expect_error([&] { st::Checkpoint c(dir.path()); }, {"one.safetensors", "'c'", "not listed"});
}

TEST(Checkpoint, ShardOutsideTheFolderRefused) {
  TempDir dir;
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "../x.safetensors"}})");
  expect_error([&] { st::Checkpoint c(dir.path()); }, {"'a'", "not a file name"});
}

TEST(Checkpoint, IndexWithoutWeightMap) {
  TempDir dir;
  write_bytes(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_error([&] { st::Checkpoint c(dir.path()); }, {"model.safetensors.index.json", "weight_map"});
}

}  // namespace
