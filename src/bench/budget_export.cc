#include "bench/budget_export.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace spikecast::bench {

namespace {

void write_bytes(const std::string& path, const void* bytes, size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error("cannot open '" + path + "' for writing");
  f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  if (!f) throw Error("cannot write '" + path + "'");
}

void write_starts(const std::string& path, const std::vector<int64_t>& starts) {
  write_bytes(path, starts.data(), starts.size() * sizeof(int64_t));
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
  write_bytes(dir + "/series.f32", values.data_ptr<float>(), static_cast<size_t>(values.numel()) * sizeof(float));
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
  write_bytes(dir + "/meta.json", text.data(), text.size());
}

}  // namespace spikecast::bench
