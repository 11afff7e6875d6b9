// `spikecast retrain --every 24h --at 03:00`: when the next run starts. Times are local wall-clock
// times (the machine's TZ), as a night job is planned; a run that overruns its slot makes the
// next one start at the first slot after it ends (slots are never queued up).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

namespace spikecast::retrain {

struct Schedule {
  int64_t every_s = 0;                     // period; > 0
  std::optional<int> at_minute_of_day;     // first run at this local time (minutes after 00:00)
};

// "24h", "90m", "45s", "1d", "1h30m". ConfigError naming `field` otherwise.
int64_t parse_period(const std::string& text, const std::string& field = "--every");
// "03:00" (HH:MM, 24-hour) -> minutes after midnight. ConfigError naming `field` otherwise.
int parse_time_of_day(const std::string& text, const std::string& field = "--at");

// The first slot strictly after `now` (epoch seconds): slots are at_minute_of_day + k * every
// (in local time) when set, else `anchor` + k * every.
std::time_t next_run(const Schedule& schedule, std::time_t now, std::time_t anchor);

}  // namespace spikecast::retrain
