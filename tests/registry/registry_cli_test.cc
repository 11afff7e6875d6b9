// The registry subcommands that `spikecast models` mounts, run through CLI11 as the binary would.
#include <gtest/gtest.h>

#include "core/error.h"
#include "registry/bundle_fixture.h"
#include "registry/model_registry.h"
#include "registry_subcommands.h"

namespace spikecast {
namespace {

// Parses `spikecast models <args...>` and returns what it printed.
std::string run_models(std::vector<std::string> args) {
  CLI::App app{"test", "spikecast"};
  CLI::App* models = app.add_subcommand("models", "models");
  app::add_registry_subcommands(*models);
  args.insert(args.begin(), {"spikecast", "models"});
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  ::testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  return ::testing::internal::GetCapturedStdout();
}

TEST(RegistryCli, AddListPromoteRollbackShow) {
  testing::ScratchDir tmp;
  const std::string reg = tmp / "reg";
  testing::make_bundle(tmp / "b1", "w1", {{"metrics", {{"val_mae", 0.25}}}});
  testing::make_bundle(tmp / "b2", "w2");
  const std::string v1 = run_models({"add", "--registry", reg, tmp / "b1"});
  const std::string v2 = run_models({"add", "--registry", reg, tmp / "b2"});
  ModelRegistry r(reg);
  ASSERT_EQ(r.list().size(), 2u);
  EXPECT_EQ(v1, r.list()[0].version + "\n");
  run_models({"promote", "--registry", reg, r.list()[0].version});
  run_models({"promote", "--registry", reg, r.list()[1].version});
  EXPECT_EQ(r.current(), r.list()[1].version);
  const std::string listed = run_models({"list", "--registry", reg});
  EXPECT_NE(listed.find("* " + r.list()[1].version), std::string::npos) << listed;
  EXPECT_NE(listed.find("{\"val_mae\":0.25}"), std::string::npos) << listed;
  EXPECT_EQ(run_models({"rollback", "--registry", reg}),
            "current: " + r.list()[0].version + " (was " + r.list()[1].version + ")\n");
  const auto shown = nlohmann::json::parse(run_models({"show", "--registry", reg, r.list()[0].version}));
  EXPECT_EQ(shown["extra"]["metrics"]["val_mae"], 0.25);
  EXPECT_EQ(shown["is_current"], true);
  EXPECT_EQ(run_models({"verify", "--registry", reg, r.list()[0].version}), r.list()[0].version + ": ok\n");
  EXPECT_NE(run_models({"history", "--registry", reg}).find("rollback"), std::string::npos);
  EXPECT_THROW(run_models({"promote", "--registry", reg, "000009-00000000"}), ModelError);
}

}  // namespace
}  // namespace spikecast
