#include "core/file_system.h"
#include "registry/model_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "registry/atomic_file.h"
#include "registry/bundle_check.h"
#include "registry/bundle_fixture.h"

namespace spikecast {
namespace {

namespace fs = std::filesystem;
using testing::make_bundle;
using testing::ScratchDir;
using testing::write_text;

nlohmann::json extra_with_mae(double mae) {
  return {{"metrics", {{"val_mae", mae}}}, {"data", {{"path", "ett.csv"}, {"sha256", "abc"}}}};
}

TEST(BundleCheck, AcceptsWellFormedBundleAndReturnsExtra) {
  ScratchDir tmp;
  make_bundle(tmp / "b", "weights-1", extra_with_mae(0.5));
  BundleCheck c = verify_bundle(tmp / "b");
  EXPECT_EQ(c.weights_sha256, sha256_hex("weights-1"));
  EXPECT_DOUBLE_EQ(c.extra["metrics"]["val_mae"].get<double>(), 0.5);
}

TEST(BundleCheck, RefusesChecksumMismatchNamingBothDigests) {
  ScratchDir tmp;
  make_bundle(tmp / "b", "weights-1");
  write_text(tmp / "b/weights.safetensors", "weights-2");  // corrupted after the manifest was written
  try {
    verify_bundle(tmp / "b");
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
    EXPECT_NE(msg.find(sha256_hex("weights-1")), std::string::npos) << msg;
    EXPECT_NE(msg.find(sha256_hex("weights-2")), std::string::npos) << msg;
  }
}

TEST(BundleCheck, RefusesBadManifests) {
  ScratchDir tmp;
  make_bundle(tmp / "b", "w");
  write_text(tmp / "b/manifest.json", "{not json");
  EXPECT_THROW(verify_bundle(tmp / "b"), ModelError);
  write_text(tmp / "b/manifest.json", "[1,2]");
  EXPECT_THROW(verify_bundle(tmp / "b"), ModelError);
  write_text(tmp / "b/manifest.json", R"({"weights_sha256": "abc"})");
  EXPECT_THROW(verify_bundle(tmp / "b"), ModelError);
  fs::remove(tmp / "b/manifest.json");
  EXPECT_THROW(verify_bundle(tmp / "b"), ModelError);
  EXPECT_THROW(verify_bundle(tmp / "missing"), ModelError);
}

TEST(ModelRegistry, EmptyRegistryHasNoCurrent) {
  ScratchDir tmp;
  ModelRegistry reg(tmp / "reg");
  EXPECT_FALSE(reg.exists());
  EXPECT_TRUE(reg.list().empty());
  EXPECT_FALSE(reg.current().has_value());
  EXPECT_THROW(reg.rollback(), ModelError);
}

TEST(ModelRegistry, AddCopiesVerifiesAndNamesVersions) {
  ScratchDir tmp;
  make_bundle(tmp / "b1", "weights-1", extra_with_mae(0.5));
  make_bundle(tmp / "b2", "weights-2", extra_with_mae(0.4));
  ModelRegistry reg(tmp / "reg");
  const std::string v1 = reg.add(tmp / "b1");
  const std::string v2 = reg.add(tmp / "b2");
  EXPECT_EQ(v1, "000001-" + sha256_hex("weights-1").substr(0, 8));
  EXPECT_EQ(v2, "000002-" + sha256_hex("weights-2").substr(0, 8));
  remove_tree(tmp / "b1");  // the registry holds its own copy
  auto all = reg.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].version, v1);
  EXPECT_DOUBLE_EQ(all[0].extra["metrics"]["val_mae"].get<double>(), 0.5);
  EXPECT_EQ(all[0].extra["data"]["path"], "ett.csv");
  EXPECT_EQ(all[1].weights_sha256, sha256_hex("weights-2"));
  EXPECT_FALSE(all[0].added_at.empty());
  EXPECT_NO_THROW(reg.verify(v1));
  EXPECT_FALSE(reg.current().has_value());  // add does not promote
  EXPECT_THROW(reg.show("000009-deadbeef"), ModelError);
}

TEST(ModelRegistry, PromoteAndRollbackWalkBackThroughHistory) {
  ScratchDir tmp;
  ModelRegistry reg(tmp / "reg");
  std::vector<std::string> v;
  for (int i = 0; i < 3; ++i) {
    make_bundle(tmp / ("b" + std::to_string(i)), "w" + std::to_string(i));
    v.push_back(reg.add(tmp / ("b" + std::to_string(i))));
  }
  reg.promote(v[0]);
  reg.promote(v[1]);
  reg.promote(v[2]);
  EXPECT_EQ(reg.current(), v[2]);
  EXPECT_TRUE(reg.show(v[2]).is_current);
  EXPECT_EQ(reg.previous(), v[1]);
  EXPECT_EQ(reg.rollback(), v[1]);
  EXPECT_EQ(reg.current(), v[1]);
  EXPECT_EQ(reg.rollback(), v[0]);
  EXPECT_EQ(reg.current(), v[0]);
  EXPECT_THROW(reg.rollback(), ModelError);
  EXPECT_EQ(reg.current(), v[0]);

  auto h = reg.history();
  ASSERT_EQ(h.size(), 8u);  // 3 adds, 3 promotes, 2 rollbacks
  EXPECT_EQ(h[3].action, "promote");
  EXPECT_EQ(h[5].from, v[1]);
  EXPECT_EQ(h[6].action, "rollback");
  EXPECT_EQ(h[6].version, v[1]);
  EXPECT_EQ(h[6].from, v[2]);
  // A second registry object (another process) sees the same state.
  EXPECT_EQ(ModelRegistry(tmp / "reg").current(), v[0]);
}

TEST(ModelRegistry, CorruptBundleIsNeitherAddedNorPromoted) {
  ScratchDir tmp;
  ModelRegistry reg(tmp / "reg");
  make_bundle(tmp / "good", "good");
  const std::string good = reg.add(tmp / "good");
  reg.promote(good);

  make_bundle(tmp / "bad", "original");
  write_text(tmp / "bad/weights.safetensors", "tampered");
  EXPECT_THROW(reg.add(tmp / "bad"), ModelError);
  EXPECT_EQ(reg.list().size(), 1u);

  // A version corrupted inside the registry after add is refused at promote and at rollback.
  make_bundle(tmp / "next", "next");
  const std::string next = reg.add(tmp / "next");
  write_text(reg.version_dir(next) + "/weights.safetensors", "bit rot");
  EXPECT_THROW(reg.verify(next), ModelError);
  EXPECT_THROW(reg.promote(next), ModelError);
  EXPECT_EQ(reg.current(), good);

  make_bundle(tmp / "third", "third");
  const std::string third = reg.add(tmp / "third");
  reg.promote(third);
  write_text(reg.version_dir(good) + "/manifest.json", "{}");
  EXPECT_THROW(reg.rollback(), ModelError);
  EXPECT_EQ(reg.current(), third);
}

TEST(ModelRegistry, LeftoversOfAKilledWriterAreIgnoredAndCleaned) {
  ScratchDir tmp;
  ModelRegistry reg(tmp / "reg");
  make_bundle(tmp / "b1", "w1");
  make_bundle(tmp / "b2", "w2");
  const std::string v1 = reg.add(tmp / "b1");
  const std::string v2 = reg.add(tmp / "b2");
  reg.promote(v1);

  // Simulate a writer killed (a) after writing half a temp pointer, before the rename, and
  // (b) in the middle of copying a bundle into staging.
  write_text(tmp / "reg/current.tmp.99999.0", "{\"version\": \"0000");
  fs::create_directories(tmp / "reg/.staging/add-99999");
  write_text(tmp / "reg/.staging/add-99999/weights.safetensors", "half");
  fs::create_directories(tmp / "reg/versions/junk");

  EXPECT_EQ(reg.current(), v1);
  EXPECT_EQ(reg.list().size(), 2u);

  reg.promote(v2);  // the next writer removes the leftovers and proceeds
  EXPECT_EQ(reg.current(), v2);
  EXPECT_FALSE(fs::exists(tmp / "reg/current.tmp.99999.0"));
  EXPECT_FALSE(fs::exists(tmp / "reg/.staging"));
  EXPECT_EQ(reg.rollback(), v1);

  // A torn last history line (crash during append) does not break history().
  append_line_durable(tmp / "reg/history.jsonl", "{\"time\": \"2024");
  EXPECT_EQ(reg.history().back().action, "rollback");
}

TEST(ModelRegistry, ConcurrentReadersNeverSeeAPartialPointer) {
  ScratchDir tmp;
  ModelRegistry reg(tmp / "reg");
  make_bundle(tmp / "b1", "w1");
  make_bundle(tmp / "b2", "w2");
  const std::string v1 = reg.add(tmp / "b1");
  const std::string v2 = reg.add(tmp / "b2");
  reg.promote(v1);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    ModelRegistry r(tmp / "reg");
    while (!stop) {
      try {
        auto c = r.current();
        if (!c || (*c != v1 && *c != v2)) ++bad;
      } catch (...) {
        ++bad;
      }
      ++reads;
    }
  });
  for (int i = 0; i < 20; ++i) {
    reg.promote(v2);
    reg.rollback();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

TEST(AtomicFile, ReplacesWholeFile) {
  ScratchDir tmp;
  write_file_atomic(tmp / "f", "one");
  write_file_atomic(tmp / "f", "two");
  EXPECT_EQ(read_file(tmp / "f"), "two");
  int files = 0;
  for (auto& e : fs::directory_iterator(tmp.path())) (void)e, ++files;
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace spikecast
