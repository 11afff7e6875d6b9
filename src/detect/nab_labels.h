// Labels for anomaly detection as NAB keeps them: a JSON object mapping each data file to the
// timestamps of its anomalies ({"dir/file.csv": ["2014-02-19 10:50:00", ...]}) or to explicit windows
// ({"dir/file.csv": [["begin", "end"], ...]}, NAB's combined_windows.json); and the conversion of
// per-row 0/1 flags into anomaly start rows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/timestamp.h"

namespace spikecast {

struct NabFileLabels {
  std::vector<TimestampMs> labels;                           // anomaly timestamps
  std::vector<std::pair<TimestampMs, TimestampMs>> windows;  // explicit [begin, end] windows
};

// Throws DataError naming the file and key for malformed JSON or an unparsable timestamp.
std::map<std::string, NabFileLabels> parse_nab_labels_json(const std::string& text, const std::string& name);
std::map<std::string, NabFileLabels> read_nab_labels_json(const std::string& path);

// The labels of `file` in `labels`: an exact key, else the key whose path ends with "/" + the
// file's last path components (NAB keys are relative to data/, e.g. "realTweets/Twitter_volume_AAPL.csv").
// nullptr when none matches.
const NabFileLabels* find_nab_labels(const std::map<std::string, NabFileLabels>& labels, const std::string& file);

// Row of each timestamp on the `time` axis: the first row at or after it (in file order where the
// axis is not sorted: a stream whose clock repeats or steps back). Throws DataError (naming `name`)
// for a timestamp after every row.
std::vector<int64_t> rows_of_timestamps(const std::vector<TimestampMs>& time, const std::vector<TimestampMs>& stamps,
                                        const std::string& name);

// The last row whose timestamp is at or before t (the end of a label window), -1 if none.
int64_t last_row_at_or_before(const std::vector<TimestampMs>& time, TimestampMs t);

// The first row of every run of non-zero flags: NAB labels one timestamp per anomaly.
std::vector<int64_t> anomaly_starts(const std::vector<uint8_t>& flags);

}  // namespace spikecast
