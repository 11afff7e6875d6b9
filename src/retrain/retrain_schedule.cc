#include "retrain/retrain_schedule.h"

#include <cctype>

#include "core/error.h"

namespace spikecast::retrain {

int64_t parse_period(const std::string& text, const std::string& field) {
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j == text.size() || j - i > 9) {
      total = 0;
      break;
    }
    const int64_t n = std::stoll(text.substr(i, j - i));
    switch (text[j]) {
      case 'd': total += n * 86400; break;
      case 'h': total += n * 3600; break;
      case 'm': total += n * 60; break;
      case 's': total += n; break;
      default: throw ConfigError(field, "unknown unit '" + std::string(1, text[j]) + "' in '" + text + "' (use d, h, m, s)");
    }
    i = j + 1;
  }
  if (total <= 0) throw ConfigError(field, "must be a period such as 24h, 90m or 1h30m, got '" + text + "'");
  return total;
}

int parse_time_of_day(const std::string& text, const std::string& field) {
  const auto digits = [&](size_t a, size_t b) {
    for (size_t k = a; k < b; ++k)
      if (!std::isdigit(static_cast<unsigned char>(text[k]))) return false;
    return true;
  };
  if (text.size() != 5 || text[2] != ':' || !digits(0, 2) || !digits(3, 5))
    throw ConfigError(field, "must be HH:MM (24-hour), got '" + text + "'");
  const int h = std::stoi(text.substr(0, 2)), m = std::stoi(text.substr(3, 2));
  if (h > 23 || m > 59) throw ConfigError(field, "must be HH:MM between 00:00 and 23:59, got '" + text + "'");
  return h * 60 + m;
}

std::time_t next_run(const Schedule& s, std::time_t now, std::time_t anchor) {
  if (s.every_s <= 0) throw ConfigError("--every", "must be > 0");
  if (s.at_minute_of_day) {
    // Today's slot in local time (mktime handles DST), then step back or forward by the period.
    std::tm tm{};
    localtime_r(&now, &tm);
    tm.tm_hour = *s.at_minute_of_day / 60;
    tm.tm_min = *s.at_minute_of_day % 60;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    anchor = std::mktime(&tm);
  }
  if (anchor > now) {
    while (anchor - s.every_s > now) anchor -= s.every_s;
    return anchor;
  }
  const int64_t k = (now - anchor) / s.every_s + 1;
  return anchor + k * s.every_s;
}

}  // namespace spikecast::retrain
