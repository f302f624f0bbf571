// .npy output files: parsed here independently of the writer (magic, version, header dict,
// alignment, little-endian float32 data), and written atomically from real engine outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>

#include "clear/engine/cpu_engine.hpp"
#include "clear/engine/npy.hpp"
#include "clear/engine/weights.hpp"
#include "clear/util/error.hpp"
#include "clear/util/files.hpp"
#include "engine/engine_tiny_configs.hpp"
#include "engine/support/reference_harness.hpp"
#include "support/test_support.hpp"

namespace clear {
namespace {

struct Parsed {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// A from-scratch reader of the v1.0 format as numpy documents it.
Parsed parse_npy(const std::string& bytes) {
  Parsed p;
  EXPECT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), std::string("\x93NUMPY", 6));
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u) << "data must start 64-byte aligned";
  std::string header = bytes.substr(10, header_len);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  std::smatch match;
  EXPECT_TRUE(std::regex_search(header, match, std::regex(R"('shape': \(([0-9, ]*)\))"))) << header;
  std::string dims = match[1];
  int64_t count = 1;
  const std::regex number("[0-9]+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    p.shape.push_back(std::stoll(it->str()));
    count *= p.shape.back();
  }
  EXPECT_EQ(bytes.size(), 10 + header_len + static_cast<size_t>(count) * 4);
  p.data.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(bytes.data() + 10 + header_len + i * 4);
    uint32_t bits = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    std::memcpy(&p.data[i], &bits, 4);
  }
  return p;
}

TEST(Npy, RoundTripsShapesAndValues) {
  SCOPED_TRACE(testing::seed_note());
  for (std::vector<int64_t> shape : {std::vector<int64_t>{7}, {2, 3}, {2, 5, 11}, {1, 1, 1, 3}}) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> values = testing::random_floats(static_cast<size_t>(n), -100.0f, 100.0f);
    Parsed p = parse_npy(npy_bytes(shape, values.data()));
    EXPECT_EQ(p.shape, shape);
    EXPECT_EQ(p.data, values);
  }
  // numpy writes a one-element tuple with a trailing comma.
  float one = 1.5f;
  EXPECT_NE(npy_bytes({1}, &one).find("(1,)"), std::string::npos);
}

TEST(Npy, EngineOutputsWrittenToFilesReadBackEqual) {
  SCOPED_TRACE(testing::seed_note());
  reference::TinyModel m = reference::make_tiny_model(engine_test::kGpt2.json, "gpt2");
  Workload w;
  w.batch = 2;
  w.seq = 5;
  EngineOptions options;
  options.threads = 1;
  auto engine = make_cpu_engine(m.config, w, options, weights_from_tensors(m.graph, m.fp32));
  engine->run_model(1);
  testing::TempDir dir;
  for (const OutputTensor& out : engine->outputs()) {
    auto path = dir / (out.name + ".npy");
    write_npy(path, out.shape, out.data.data());
    Parsed p = parse_npy(read_file(path));
    EXPECT_EQ(p.shape, out.shape) << out.name;
    EXPECT_EQ(p.data, out.data) << out.name;
  }
  float one = 1.0f;
  EXPECT_THROW(write_npy(dir / "missing" / "x.npy", {1}, &one), Error);
}

}  // namespace
}  // namespace clear
