#include "bench/capacity_plan.h"

#include <gtest/gtest.h>

#include "bench/flop_count.h"
#include "core/error.h"
#include "models/model_registry.h"

namespace spikecast::bench {
namespace {

Measurement member(const std::string& name, int64_t batch, double sps, int64_t model_bytes, int64_t infer_bytes,
                   double infer_wps) {
  Measurement m;
  m.model = name;
  m.parameter_total = 1000;
  m.parameters = 500;
  m.batch = batch;
  m.train_samples_per_s = sps;
  m.train_model_bytes = model_bytes;
  m.infer_bytes = infer_bytes;
  m.infer_windows_per_s = infer_wps;
  return m;
}

TEST(CapacityPlan, ProjectsTimeLinearlyAndCountsTheDataset) {
  PlanOptions o;
  o.records = {1000, 2000};
  o.epochs_per_retrain = 3;
  o.train_fraction = 0.5;
  o.val_fraction = 0.1;
  Measurement ens;
  ens.model = "ensemble";
  ens.parameter_total = 1000;
  ens.parameters = 1010;
  ens.infer_bytes = 777;
  const std::vector<Measurement> measured = {member("a", 10, 100.0, 5000, 300, 1000.0),
                                             member("b", 10, 50.0, 9000, 400, 500.0), ens};
  const auto rows = project(measured, o, /*channels=*/2, /*L=*/4, /*H=*/1);
  ASSERT_EQ(rows.size(), 6u);  // (a, b, ensemble) x 2 record counts
  const PlanRow& a1 = rows[0];
  EXPECT_EQ(a1.model, "a");
  EXPECT_DOUBLE_EQ(a1.epoch_s, 10.0);  // 1000 windows at 100/s
  // 3 epochs x (500 training windows at 100/s + 100 validation windows at 1000/s)
  EXPECT_DOUBLE_EQ(a1.retrain_s, 3 * (5.0 + 0.1));
  // rows = 1000 + L + H - 1 = 1004: values 1004*2*4, spike labels one bit a row (1004 + 7) / 8, order 500*4
  EXPECT_EQ(a1.train_memory_bytes, 5000 + 1004 * 2 * 4 + (1004 + 7) / 8 + 500 * 4);
  EXPECT_EQ(a1.infer_memory_bytes, 300);
  const PlanRow& e1 = rows[2];
  EXPECT_EQ(e1.model, "ensemble");
  EXPECT_DOUBLE_EQ(e1.epoch_s, 10.0 + 20.0);                        // members in turn
  EXPECT_EQ(e1.train_memory_bytes, rows[1].train_memory_bytes);     // the larger member
  EXPECT_EQ(e1.infer_memory_bytes, 777);
  EXPECT_EQ(e1.parameters, 1010);
  const PlanRow& a2 = rows[3];
  EXPECT_DOUBLE_EQ(a2.epoch_s, 2 * a1.epoch_s);
  EXPECT_EQ(a2.train_memory_bytes - a1.train_memory_bytes, resident_dataset_bytes(2004, 2, 1000) -
                                                               resident_dataset_bytes(1004, 2, 500));
}

TEST(CapacityPlan, AMemberThatJoinsCountsInTheEnsembleFromItsThreshold) {
  PlanOptions o;
  o.records = {1000, 2000};  // training rows 500 and 1000: windows 496 and 996 (L = 4, H = 1)
  o.train_fraction = 0.5;
  o.val_fraction = 0.1;
  o.join = {"j"};
  o.join_min_windows = 900;
  Measurement joining = member("j", 10, 25.0, 20000, 500, 250.0);
  joining.joins = true;
  Measurement ens;
  ens.model = "ensemble";
  ens.parameter_total = 1000;
  ens.infer_bytes = 777;
  Measurement ens_joined = ens;
  ens_joined.joins = true;
  ens_joined.infer_bytes = 888;
  const std::vector<Measurement> measured = {member("a", 10, 100.0, 5000, 300, 1000.0),
                                             member("b", 10, 50.0, 9000, 400, 500.0), joining, ens, ens_joined};
  const auto rows = project(measured, o, /*channels=*/2, /*L=*/4, /*H=*/1);
  ASSERT_EQ(rows.size(), 8u);  // (a, b, j, ensemble) x 2 record counts
  EXPECT_EQ(rows[2].model, "j");  // the member's own row at every size
  const PlanRow& small = rows[3];
  ASSERT_EQ(small.model, "ensemble");
  EXPECT_DOUBLE_EQ(small.epoch_s, 10.0 + 20.0);  // a and b only
  EXPECT_EQ(small.train_memory_bytes, rows[1].train_memory_bytes);
  EXPECT_EQ(small.infer_memory_bytes, 777);
  EXPECT_TRUE(small.joined.empty());
  const PlanRow& grown = rows[7];
  ASSERT_EQ(grown.model, "ensemble");
  EXPECT_DOUBLE_EQ(grown.epoch_s, 20.0 + 40.0 + 80.0);  // a, b and j over 2000 windows
  EXPECT_EQ(grown.train_memory_bytes, rows[6].train_memory_bytes);  // j is the largest
  EXPECT_EQ(grown.infer_memory_bytes, 888);
  EXPECT_EQ(grown.joined, (std::vector<std::string>{"j"}));
}

TEST(CapacityPlan, ScalesMembersToAParameterTotal) {
  const std::vector<std::string> names = {"lstm", "gru", "cnn_lstm", "spike", "rule"};
  std::vector<models::ModelSpec> specs;
  for (const auto& n : names) specs.push_back(models::ModelSpec{100, 1, 13, nlohmann::json::object()});
  const ScaledMembers same = scale_members(names, specs, 0);
  EXPECT_DOUBLE_EQ(same.width_scale, 1.0);
  EXPECT_EQ(same.parameters, 1135679);  // docs/models.md: the five members
  for (int64_t target : {2500000, 3000000}) {
    const ScaledMembers s = scale_members(names, specs, target);
    EXPECT_GT(s.width_scale, 1.0);
    int64_t built = 0;
    for (size_t i = 0; i < names.size(); ++i)
      built += models::count_parameters(*models::make_forecaster(names[i], s.specs[i]));
    EXPECT_EQ(built, s.parameters);
    EXPECT_NEAR(static_cast<double>(s.parameters), static_cast<double>(target), 0.05 * target);
  }
}

TEST(CapacityPlan, OptionsAreValidated) {
  PlanOptions o;
  EXPECT_NO_THROW(o.validate());
  o.members = {"patchtst"};
  EXPECT_THROW(o.validate(), ConfigError);
  o = PlanOptions();
  o.train_fraction = 0.95;
  EXPECT_THROW(o.validate(), ConfigError);
  o = PlanOptions();
  EXPECT_EQ(o.join, (std::vector<std::string>{"patchtst"}));  // as train.join
  o.join = {"lstm"};  // already a member
  EXPECT_THROW(o.validate(), ConfigError);
  o.join = {"no_such_model"};
  try {
    o.validate();
    ADD_FAILURE() << "no ConfigError for an unknown joining member";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.field(), "plan.join") << e.what();
  }
  o = PlanOptions();
  o.join_min_windows = 0;
  EXPECT_THROW(o.validate(), ConfigError);
}

}  // namespace
}  // namespace spikecast::bench
