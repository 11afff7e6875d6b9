// libFuzzer target for the CSV reader and loader. The first input byte picks the path:
//   0: the raw reader over every record,
//   1: the loader with fixed column names (time "t", target "y", series "s" when bit 1 is set),
//   2: inspection (type detection and auto-configuration, then the loader),
// the rest is the CSV text. Only spikecast::Error may escape the library; anything else (a crash,
// a sanitizer report, another exception type) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "data/csv_loader.h"
#include "data/csv_reader.h"
#include "data/inspect.h"
#include "data/split.h"
#include "data/windows.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spikecast;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (mode % 3) {
      case 0: {
        CsvReader reader(std::move(text), "fuzz.csv");
        std::vector<std::string_view> fields;
        size_t total = 0;
        while (reader.next(fields)) total += fields.size();
        (void)total;
        break;
      }
      case 1: {
        DataConfig config;
        config.time_column = "t";
        config.target_column = "y";
        if (mode & 4) config.series_column = "s";
        config.missing_policy = (mode & 8) ? MissingPolicy::kReject : MissingPolicy::kFill;
        config.max_fill_steps = (mode >> 4) & 3;
        LoadOptions options;
        options.constant_columns = (mode & 64) ? ConstantPolicy::kWarn : ConstantPolicy::kReject;
        options.min_series_rows = (mode & 128) ? 3 : 0;
        LoadReport report;
        const Table table = load_csv_text(std::move(text), "fuzz.csv", config, options, &report);
        const Split split = split_table(table, SplitConfig{});
        WindowConfig window;
        window.input_length = 2;
        window.horizon = 1;
        make_windows(table, split, window);
        break;
      }
      default: {
        const Inspection ins = inspect_csv_text(std::move(text), "fuzz.csv");
        format_inspection(ins);
        inspection_json(ins);
        break;
      }
    }
  } catch (const Error&) {
    // Expected: malformed input reported as DataError / ConfigError.
  }
  return 0;
}
