#include "train/seed_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace spikecast::train {

SeedStat seed_stat(const std::vector<double>& values) {
  SeedStat s;
  if (values.empty()) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  double sq = 0;
  for (double v : values) sq += (v - s.mean) * (v - s.mean);
  s.sd = values.size() > 1 ? std::sqrt(sq / static_cast<double>(values.size() - 1)) : 0.0;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

SeedSummary summarize_seeds(const std::vector<SeedRun>& runs) {
  if (runs.empty()) throw ModelError("seed summary: no runs");
  SeedSummary out;
  const std::vector<ModelScore>& first = runs.front().scores;
  for (size_t r = 0; r < runs.size(); ++r) {
    out.seeds.push_back(runs[r].seed);
    if (runs[r].validation_mse < runs[out.chosen].validation_mse) out.chosen = r;
    if (runs[r].scores.size() != first.size())
      throw ModelError("seed summary: seed " + std::to_string(runs[r].seed) + " scored " +
                       std::to_string(runs[r].scores.size()) + " models, seed " + std::to_string(runs.front().seed) +
                       " " + std::to_string(first.size()));
    for (size_t m = 0; m < first.size(); ++m)
      if (runs[r].scores[m].name != first[m].name)
        throw ModelError("seed summary: seed " + std::to_string(runs[r].seed) + " scored '" + runs[r].scores[m].name +
                         "' where seed " + std::to_string(runs.front().seed) + " scored '" + first[m].name + "'");
  }
  for (size_t m = 0; m < first.size(); ++m) {
    std::vector<double> mse, mae;
    for (const SeedRun& run : runs) {
      mse.push_back(run.scores[m].metrics.mse);
      mae.push_back(run.scores[m].metrics.mae);
    }
    SeedModelSummary s{first[m].name, first[m].kind, seed_stat(mse), seed_stat(mae), 0};
    out.models.push_back(s);
  }
  for (const SeedRun& run : runs) {
    size_t best = 0;
    for (size_t m = 1; m < run.scores.size(); ++m)
      if (run.scores[m].metrics.mse < run.scores[best].metrics.mse) best = m;
    out.models[best].best_count += 1;
  }
  return out;
}

nlohmann::json SeedSummary::to_json() const {
  auto stat = [](const SeedStat& s) { return nlohmann::json{{"mean", s.mean}, {"sd", s.sd}, {"min", s.min}, {"max", s.max}}; };
  nlohmann::json j{{"seeds", seeds}, {"chosen_seed", seeds.at(chosen)},
                   {"chosen_by", "lowest validation-holdout MSE of the chosen ensemble"},
                   {"models", nlohmann::json::array()}};
  for (const SeedModelSummary& m : models)
    j["models"].push_back({{"name", m.name}, {"kind", m.kind}, {"test_mse", stat(m.mse)}, {"test_mae", stat(m.mae)},
                           {"best_in_seeds", m.best_count}});
  return j;
}

std::string format_seed_summary(const SeedSummary& summary) {
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "test scores over %zu seeds (mean ± sd [min, max]); bundle kept: seed %lld\n",
                summary.seeds.size(), static_cast<long long>(summary.seeds.at(summary.chosen)));
  out += line;
  std::snprintf(line, sizeof line, "%-16s %-9s %-34s %-20s %s\n", "model", "kind", "MSE", "MAE", "best");
  out += line;
  for (const SeedModelSummary& m : summary.models) {
    char mse[64], mae[48];
    std::snprintf(mse, sizeof mse, "%.4f ± %.4f [%.4f, %.4f]", m.mse.mean, m.mse.sd, m.mse.min, m.mse.max);
    std::snprintf(mae, sizeof mae, "%.4f ± %.4f", m.mae.mean, m.mae.sd);
    std::snprintf(line, sizeof line, "%-16s %-9s %-34s %-20s %lld/%zu\n", m.name.c_str(), m.kind.c_str(), mse, mae,
                  static_cast<long long>(m.best_count), summary.seeds.size());
    out += line;
  }
  return out;
}

}  // namespace spikecast::train
