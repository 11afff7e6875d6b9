#include "detect/stream_csv.h"

#include "core/config.h"
#include "data/csv_loader.h"

namespace spikecast {

Table load_stream_csv(const std::string& path, const std::string& time_column, const std::vector<std::string>& columns) {
  DataConfig config;
  config.path = path;
  config.time_column = time_column;
  if (!columns.empty()) config.target_column = columns.front();
  config.feature_columns = columns;
  config.max_fill_steps = 0;  // gaps stay NaN: scored 0 and not learned
  config.validate();
  LoadOptions options;
  options.constant_columns = ConstantPolicy::kWarn;
  options.time_order = TimeOrder::kFileOrder;  // a stream: every row gets its score, in file order
  return load_csv(config, options);
}

Table load_nab_file(const std::string& path) { return load_stream_csv(path, "timestamp", {"value"}); }

}  // namespace spikecast
