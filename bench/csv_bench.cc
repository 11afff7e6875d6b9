// CSV loading throughput: generates 781,163 rows x 14 columns (the size of a large public
// benchmark set) to a temporary CSV, then times load_csv (one warm-up, median of several runs).
// Prints one JSON object. Usage: csv_bench [rows] [runs]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <vector>

#include "data/csv_loader.h"
#include "data/csv_writer.h"
#include "data/generator.h"

int main(int argc, char** argv) {
  using namespace spikecast;
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 781163;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 7;
  try {
    const auto path = std::filesystem::temp_directory_path() / "spikecast_csv_bench.csv";
    GeneratorConfig g;
    g.rows = rows;
    write_csv(generate(g).table, path.string());
    const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    DataConfig config;
    config.path = path.string();
    Table table = load_csv(config);  // warm-up (page cache)
    // Wall time and this process's CPU time: on a shared machine the CPU time is the figure that
    // does not depend on other load.
    std::vector<double> seconds, cpu;
    for (int i = 0; i < runs; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();
      table = load_csv(config);
      cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    std::sort(cpu.begin(), cpu.end());
    const double median = seconds[seconds.size() / 2];
    std::printf(
        "{\"benchmark\": \"csv_load\", \"rows\": %lld, \"columns\": %lld, \"file_mb\": %.1f, \"runs\": %d, "
        "\"seconds_median\": %.4f, \"seconds_min\": %.4f, \"cpu_seconds_median\": %.4f, \"rows_per_s\": %.0f, "
        "\"mb_per_s\": %.1f}\n",
        static_cast<long long>(table.rows()), static_cast<long long>(table.num_channels() + 1), mb, runs, median,
        seconds.front(), cpu[cpu.size() / 2], static_cast<double>(table.rows()) / median, mb / median);
    std::filesystem::remove(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "csv_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
