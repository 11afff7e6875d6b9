// spikecast ingest: append a CSV's new rows to the ingest store (store/data_store.h), validated
// like the loader and screened by the refusal rules; idempotent and crash-safe.
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/timestamp.h"
#include "store/data_store.h"

namespace spikecast::app {
namespace {

struct IngestArgs {
  std::string file;
  std::string store;
  double max_scale_jump = store::ScreenOptions{}.max_scale_jump;
  int64_t max_discrete_levels = store::ScreenOptions{}.max_discrete_levels;
  bool json = false;
};

void run_ingest(const IngestArgs& args, const CommonOptions& common) {
  const Config config = common.resolve();
  store::IngestOptions options;
  options.data = config.data;
  options.screen.max_scale_jump = args.max_scale_jump;
  options.screen.max_discrete_levels = args.max_discrete_levels;
  store::DataStore data_store(args.store);
  const store::IngestResult r = data_store.ingest(args.file, options);
  for (const std::string& w : r.warnings) std::fprintf(stderr, "spikecast: warning: %s\n", w.c_str());
  if (args.json) {
    nlohmann::json j = {{"file", r.file}, {"rows_in_file", r.rows_in_file}, {"rows_added", r.rows_added},
                        {"rows_already_stored", r.rows_already_stored}, {"store_rows", r.store_rows}};
    if (r.rows_added > 0) j["added"] = {format_timestamp(r.added_begin), format_timestamp(r.added_end)};
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s: %lld rows, %lld added%s, %lld already stored; the store holds %lld rows\n", r.file.c_str(),
              static_cast<long long>(r.rows_in_file), static_cast<long long>(r.rows_added),
              r.rows_added > 0 ? (" (" + format_timestamp(r.added_begin) + " .. " + format_timestamp(r.added_end) + ")").c_str() : "",
              static_cast<long long>(r.rows_already_stored), static_cast<long long>(r.store_rows));
}

}  // namespace

std::string default_store_dir() {
  const char* env = std::getenv("SPIKECAST_STORE");
  return env ? env : "store";
}

Command ingest_command() {
  return {"ingest", "append a CSV's new rows to the data store (validated, screened, idempotent, crash-safe)",
          [](CLI::App& sub, CommonOptions& common) {
            auto args = std::make_shared<IngestArgs>();
            args->store = default_store_dir();
            sub.add_option("file", args->file, "CSV file of new rows")->required();
            sub.add_option("--store", args->store, "data store directory ($SPIKECAST_STORE)")->capture_default_str();
            sub.add_option("--max-scale-jump", args->max_scale_jump,
                           "refuse a column whose new std or mean moves beyond this many history stds (0: off)")
                ->capture_default_str();
            sub.add_option("--max-discrete-levels", args->max_discrete_levels,
                           "a column with at most this many distinct values may be constant over new rows")
                ->capture_default_str();
            sub.add_flag("--json", args->json, "print the result as JSON");
            common.add_config_flag(sub);
            common.add_data_flags(sub);
            sub.callback([args, &common] { run_ingest(*args, common); });
          }};
}

}  // namespace spikecast::app
