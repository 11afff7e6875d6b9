// safetensors: exact byte layout, every dtype, metadata, and rejection of malformed files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model_test_util.h"
#include "tensor/safetensors.h"

namespace spikecast::test_safetensors {
namespace {

using spikecast::ModelError;

TEST(SafetensorsTest, ByteLayoutMatchesTheSpecification) {
  torch::Tensor a = torch::tensor({1.0f, 2.0f, 3.0f});
  std::string bytes = serialize_safetensors({{"a", a}}, {{"k", "v"}});
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<uint8_t>(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 12);
  nlohmann::json h = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(h["a"]["dtype"], "F32");
  EXPECT_EQ(h["a"]["shape"], nlohmann::json({3}));
  EXPECT_EQ(h["a"]["data_offsets"], nlohmann::json({0, 12}));
  EXPECT_EQ(h["__metadata__"]["k"], "v");
  float back[3];
  std::memcpy(back, bytes.data() + 8 + n, 12);
  EXPECT_EQ(back[2], 3.0f);
}

TEST(SafetensorsTest, EveryDtypeRoundTrips) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto type : {torch::kFloat64, torch::kFloat32, torch::kFloat16, torch::kBFloat16, torch::kInt64,
                    torch::kInt32, torch::kInt16, torch::kInt8, torch::kUInt8, torch::kBool})
    tensors.emplace_back(safetensors_dtype_name(type), (torch::arange(12).reshape({3, 4}) % 5).to(type));
  tensors.emplace_back("scalar", torch::tensor(2.5));
  tensors.emplace_back("empty", torch::zeros({0, 3}));
  tensors.emplace_back("strided", torch::arange(6, torch::kFloat).reshape({2, 3}).t());
  SafetensorsData back = parse_safetensors(serialize_safetensors(tensors, {{"x", "y"}}), "mem");
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_EQ(back.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    EXPECT_TRUE(torch::equal(back.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(back.metadata.at("x"), "y");
}

TEST(SafetensorsTest, MalformedFilesAreModelErrors) {
  std::string good = serialize_safetensors({{"a", torch::ones({4})}, {"b", torch::ones({2})}});
  EXPECT_THROW(parse_safetensors("short", "f"), ModelError);
  std::string huge = good;
  huge[7] = '\x10';  // header length far beyond the file
  EXPECT_THROW(parse_safetensors(huge, "f"), ModelError);
  EXPECT_THROW(parse_safetensors(good.substr(0, good.size() - 1), "f"), ModelError);  // truncated data
  EXPECT_THROW(parse_safetensors(good + "xxxx", "f"), ModelError);                   // trailing bytes
  auto with_header = [](const std::string& json) {
    std::string h = json;
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
    return out + h + std::string(16, '\0');
  };
  EXPECT_THROW(parse_safetensors(with_header("{oops"), "f"), ModelError);
  EXPECT_THROW(parse_safetensors(with_header(R"({"a":{"dtype":"Q8","shape":[4],"data_offsets":[0,16]}})"), "f"), ModelError);
  EXPECT_THROW(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})"), "f"), ModelError);
  EXPECT_THROW(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"), "f"), ModelError);
  EXPECT_NO_THROW(parse_safetensors(with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})"), "f"));
  try {
    parse_safetensors("short", "weights.safetensors");
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("weights.safetensors"), std::string::npos);
  }
  EXPECT_THROW(serialize_safetensors({{"a", torch::ones({1})}, {"a", torch::ones({1})}}), ModelError);
  EXPECT_THROW(serialize_safetensors({{"c", torch::ones({1}, torch::kComplexFloat)}}), ModelError);
}

TEST(SafetensorsTest, FileRoundTrip) {
  spikecast::models::test::TempDir dir;
  const std::string path = dir.path() + "/t.safetensors";
  save_safetensors(path, {{"w", torch::randn({3, 2})}});
  SafetensorsData d = load_safetensors(path);
  EXPECT_EQ(d.find("w").sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_FALSE(d.find("nope").defined());
  EXPECT_THROW(load_safetensors(dir.path() + "/missing.safetensors"), ModelError);
}

}  // namespace
}  // namespace spikecast::test_safetensors
