// `spikecast bench` as a library call: every phase over one generated dataset, one JSON document
// (bench_run_schema in docs/performance.md), and the readable table printed from that document.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "bench/bench_options.h"
#include "tensor/context.h"

namespace spikecast::bench {

// Runs the phases in options.phases; `log` gets one line per measurement as it completes (nullptr:
// silent). A phase that throws is recorded under "errors" and the others still run.
nlohmann::json run_bench(const BenchOptions& options, const Context& ctx, std::FILE* log = nullptr);

// The document as aligned text tables (training, budget, latency, matrix rate, FLOP floor).
std::string bench_table(const nlohmann::json& result);

}  // namespace spikecast::bench
