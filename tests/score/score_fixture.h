// A tiny trained bundle and a scoring CSV shared by the score tests: generator data (2 series,
// 600 rows each, rows of the two series interleaved in the file), a linear + repeat-last ensemble
// trained for one short epoch (L = 16, H = 2), and missing cells injected into the CSV: short gaps
// that the bundle's policy fills, long and leading ones that it leaves, a trailing one.
#pragma once

#include <string>

#include "core/config.h"

namespace spikecast::score::testing {

struct ScoreFixture {
  std::string dir;         // temporary directory holding everything below
  std::string bundle;      // the bundle directory
  std::string csv;         // the file to score
  std::string bundle_sha;  // bundle_fingerprint(bundle)
  DataConfig data;         // the bundle's data settings
  int64_t input_length = 16;
  int64_t horizon = 2;
};

// Built on first use (a few seconds), removed at exit.
const ScoreFixture& fixture();

// Writes `text` to `path` (throws on failure).
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

}  // namespace spikecast::score::testing
