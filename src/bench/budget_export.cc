#include "bench/budget_export.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_system.h"

namespace spikecast::bench {

namespace {

void write_starts(const std::string& path, const std::vector<int64_t>& starts) {
  write_file(path, starts.data(), starts.size() * sizeof(int64_t), "budget export file");
}

}  // namespace

std::vector<int64_t> budget_validation_windows(const BenchData& data, const BenchOptions& options) {
  return BenchData::spread(data.dataset.windows.val, options.budget_val_windows);
}

void export_budget_windows(const BenchData& data, const BenchOptions& options, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw Error("cannot create directory '" + dir + "': " + std::strerror(errno));
  static_assert(sizeof(float) == 4, "series.f32 is float32");
  const torch::Tensor values = data.device_data->values().to(torch::kCPU, torch::kFloat).contiguous();
  write_file(dir + "/series.f32", values.data_ptr<float>(), static_cast<size_t>(values.numel()) * sizeof(float),
             "budget export file");
  const std::vector<int64_t> val = budget_validation_windows(data, options);
  write_starts(dir + "/train.i64", data.dataset.windows.train);
  write_starts(dir + "/val.i64", val);
  const nlohmann::json meta = {{"rows", values.size(0)},
                               {"channels", values.size(1)},
                               {"channel_names", data.dataset.table.channels},
                               {"target_channel", 0},
                               {"input_length", data.dataset.windows.input_length},
                               {"horizon", data.dataset.windows.horizon},
                               {"train_windows", data.dataset.windows.train.size()},
                               {"val_windows", val.size()},
                               {"budget_s", options.budget_s},
                               {"batch", options.budget_batch},
                               {"eval_steps", options.budget_eval_steps},
                               {"seed", options.seed}};
  const std::string text = meta.dump(1) + "\n";
  write_file(dir + "/meta.json", text.data(), text.size(), "budget export file");
}

}  // namespace spikecast::bench
