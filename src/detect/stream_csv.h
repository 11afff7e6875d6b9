// Reading a CSV for anomaly detection: as a stream, one row per row of the file in file order. A
// repeated or earlier timestamp is a warning, not an error (real series repeat an hour at a clock
// change or step back after a reset); gaps stay NaN (never forward-filled: a missing value is scored
// 0 and not learned); a constant column is a warning. `spikecast detect` and detect_bench read their
// files this way, so a corpus scores the same through both.
#pragma once

#include <string>
#include <vector>

#include "data/table.h"

namespace spikecast {

// `time_column` and `columns` (in that order: channel c = columns[c]) from the CSV at `path`.
// Throws DataError naming the file, line and column for an unreadable row (a value or timestamp
// that does not parse, a missing column).
Table load_stream_csv(const std::string& path, const std::string& time_column, const std::vector<std::string>& columns);

// A NAB data file: columns `timestamp` and `value` (channel 0).
Table load_nab_file(const std::string& path);

}  // namespace spikecast
