// Timestamps as int64 milliseconds since the Unix epoch (UTC), parsed from the formats found in
// real time-series CSVs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spikecast {

using TimestampMs = int64_t;

// Accepts "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.fff]]", the same with 'T' and an optional 'Z' or
// "+HH:MM"/"-HH:MM" offset, '/' as date separator, and plain integer epoch seconds. Returns
// nullopt for anything else (including impossible dates such as 2021-02-30).
std::optional<TimestampMs> parse_timestamp(std::string_view text);

// The wall clock now, UTC, ISO 8601: "YYYY-MM-DDTHH:MM:SSZ".
std::string format_utc_now();

// "YYYY-MM-DD HH:MM:SS" (with ".fff" when the milliseconds are non-zero), UTC.
std::string format_timestamp(TimestampMs t);

// A human duration such as "1h", "15min", "2d 3h", "500ms".
std::string format_duration(int64_t ms);

}  // namespace spikecast
