// Bundles: round trip, manifest content, checksum and corruption detection, atomic replacement.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/sha256.h"
#include "model_test_util.h"
#include "models/model_bundle.h"
#include "models/model_registry.h"
#include "tensor/context.h"
#include "tensor/safetensors.h"

namespace spikecast::models::test {
namespace fs = std::filesystem;
namespace {

const ModelSpec kSpec{10, 2, 3, {{"hidden", {8}}, {"head", {8}}}};

std::string save_small(const TempDir& dir) {
  seed_everything(1);
  Forecaster m = make_forecaster("lstm", kSpec);
  const std::string path = dir.path() + "/lstm";
  save_bundle(path, *m, {{"load", "temp", "hour"}, {{"mean", {1, 2, 3}}, {"std", {1, 1, 1}}}, {{"val_mse", 0.5}}});
  return path;
}

TEST(ModelBundleTest, ManifestDescribesTheModel) {
  TempDir dir;
  const std::string path = save_small(dir);
  EXPECT_TRUE(fs::exists(path + "/weights.safetensors"));
  BundleManifest m = read_manifest(path);
  EXPECT_EQ(m.architecture, "lstm");
  EXPECT_EQ(m.input_length, 10);
  EXPECT_EQ(m.horizon, 2);
  EXPECT_EQ(m.channels, 3);
  EXPECT_EQ(m.target, "load");
  EXPECT_EQ(m.scaler["mean"][1], 2);
  EXPECT_EQ(m.extra["val_mse"], 0.5);
  EXPECT_EQ(m.options["hidden"], nlohmann::json({8}));
  EXPECT_FALSE(m.libtorch_version.empty());
  EXPECT_EQ(m.weights_sha256, sha256_file_hex(path + "/weights.safetensors"));
  EXPECT_EQ(m.created_utc.size(), 20u);
  // The weights are a plain safetensors file with every parameter.
  SafetensorsData st = load_safetensors(path + "/weights.safetensors");
  Forecaster fresh = make_forecaster("lstm", kSpec);
  EXPECT_EQ(st.tensors.size(), model_tensors(*fresh).size());
  EXPECT_EQ(st.metadata.at("format"), "pt");
}

TEST(ModelBundleTest, RoundTripOnEveryDevice) {
  TempDir dir;
  const std::string path = save_small(dir);
  seed_everything(1);
  Forecaster original = make_forecaster("lstm", kSpec);
  original->eval();
  torch::Tensor x = make_input(2, 10, 3);
  torch::Tensor expect = original->forward(x).value;
  for (const torch::Device& d : test_devices()) {
    LoadedBundle b = load_bundle(path, d);
    torch::Tensor got = b.model->forward(x.to(d)).value.cpu();
    if (d.is_cpu()) EXPECT_TRUE(torch::equal(got, expect));
    else EXPECT_TRUE(torch::allclose(got, expect, 1e-3, 1e-4));
  }
}

TEST(ModelBundleTest, CorruptedWeightByteIsModelErrorNamingTheFile) {
  TempDir dir;
  const std::string path = save_small(dir);
  const std::string weights = path + "/weights.safetensors";
  {
    std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    f.put('\x7f');
  }
  try {
    load_bundle(path);
    FAIL() << "corruption not detected";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("weights.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos) << e.what();
  }
}

TEST(ModelBundleTest, MissingManifestOrWeightsIsModelError) {
  TempDir dir;
  const std::string path = save_small(dir);
  fs::remove(path + "/weights.safetensors");
  EXPECT_THROW(load_bundle(path), ModelError);
  const std::string path2 = save_small(dir);
  fs::remove(path2 + "/manifest.json");
  try {
    load_bundle(path2);
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos);
  }
  EXPECT_THROW(load_bundle(dir.path() + "/nowhere"), ModelError);
}

TEST(ModelBundleTest, ManifestThatDoesNotMatchTheWeightsIsModelError) {
  TempDir dir;
  const std::string path = save_small(dir);
  // Same checksum, different architecture options: a tensor shape no longer matches.
  nlohmann::json j;
  std::ifstream(path + "/manifest.json") >> j;
  j["options"]["hidden"] = {9};
  std::ofstream(path + "/manifest.json") << j.dump();
  EXPECT_THROW(load_bundle(path), ModelError);
  // A weights file missing a tensor (re-checksummed so only the content check can catch it).
  const std::string path2 = save_small(dir);
  SafetensorsData st = load_safetensors(path2 + "/weights.safetensors");
  st.tensors.pop_back();
  save_safetensors(path2 + "/weights.safetensors", st.tensors);
  std::ifstream(path2 + "/manifest.json") >> j;
  j["weights_sha256"] = sha256_file_hex(path2 + "/weights.safetensors");
  std::ofstream(path2 + "/manifest.json") << j.dump();
  try {
    load_bundle(path2);
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor"), std::string::npos) << e.what();
  }
  // Garbage JSON and an unsupported format version.
  std::ofstream(path2 + "/manifest.json") << "{not json";
  EXPECT_THROW(load_bundle(path2), ModelError);
  j["format_version"] = 99;
  std::ofstream(path2 + "/manifest.json") << j.dump();
  EXPECT_THROW(read_manifest(path2), ModelError);
}

TEST(ModelBundleTest, SavingReplacesAnExistingBundleAndLeavesNoTemporaries) {
  TempDir dir;
  const std::string path = save_small(dir);
  Forecaster other = make_forecaster("linear", {10, 2, 3, {}});
  save_bundle(path, *other, {});
  EXPECT_EQ(read_manifest(path).architecture, "linear");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  EXPECT_NO_THROW(load_bundle(path));
  EXPECT_THROW(save_bundle(path, *other, {{"only-one-name"}}), ConfigError);
}

}  // namespace
}  // namespace spikecast::models::test
