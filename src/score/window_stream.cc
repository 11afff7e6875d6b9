#include "score/window_stream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "data/csv_loader.h"
#include "data/csv_reader.h"

namespace spikecast::score {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int64_t kNone = std::numeric_limits<int64_t>::max();

size_t find_column(const std::vector<std::string>& header, const std::string& name, const char* key,
                   const std::string& file, int64_t line) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  throw DataError(file, line, name, std::string("unknown column in ") + key + "; the header has: " + join_names(header));
}

}  // namespace

// Forward-fill state of one channel of one series (the streaming form of forward_fill()).
struct ChannelFill {
  bool have_prev = false;
  float prev = 0;
  int64_t run_len = 0;             // missing cells in the current run
  int64_t undecided_from = kNone;  // seq of the run's first row while it may still be filled
};

struct PendingRow {
  int64_t seq = 0;
  TimestampMs time = 0;
  uint8_t filled = 0;
  std::vector<float> values;  // [C]
};

struct WindowStream::Series {
  std::string name;
  TimestampMs last_time = 0;
  int64_t last_line = 0;
  int64_t next_seq = 0;
  std::deque<PendingRow> pending;  // read, not yet released
  int64_t marked = 0;              // pending rows (from the front) already queued in ready_
  std::vector<ChannelFill> fill;   // [C]
  // The last L released rows, a ring: slot head is the oldest once full.
  std::vector<float> ring;         // [L, C]
  std::vector<uint8_t> ring_filled;
  int64_t head = 0;
  int64_t released = 0;
  int64_t clean_run = 0;           // released rows since the last one holding a NaN
  int64_t filled_in_ring = 0;
};

void WindowBatch::clear() {
  input.windows = 0;
  input.values.clear();
  input.filled_fraction.clear();
  series.clear();
  origin.clear();
}

WindowStream::WindowStream(const std::string& path, const DataConfig& data, int64_t input_length,
                           const std::vector<std::string>& channels)
    : reader_(path), data_(data), L_(input_length) {
  if (L_ < 1) throw ConfigError("window.input_length", "must be >= 1, got " + std::to_string(L_));
  max_fill_ = data.missing_policy == MissingPolicy::kFill ? data.max_fill_steps : 0;
  const std::string& file = reader_.name();
  if (!reader_.next(fields_)) throw DataError(file, 0, "", "empty file (no header row)");
  header_line_ = reader_.line();
  for (size_t i = 0; i < fields_.size(); ++i) {
    std::string name(trim_cell(fields_[i]));
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    for (size_t j = 0; j < header_.size(); ++j)
      if (header_[j] == name)
        throw DataError(file, header_line_, name,
                        "duplicate column name in the header (columns " + std::to_string(j + 1) + " and " +
                            std::to_string(i + 1) + ")");
    header_.push_back(std::move(name));
  }
  time_col_ = find_column(header_, data.time_column, "data.time_column", file, header_line_);
  const size_t target_col = find_column(header_, data.target_column, "data.target_column", file, header_line_);
  has_series_ = !data.series_column.empty();
  if (has_series_) series_col_ = find_column(header_, data.series_column, "data.series_column", file, header_line_);
  channel_cols_ = {target_col};
  if (data.feature_columns.empty()) {
    for (size_t i = 0; i < header_.size(); ++i)
      if (i != time_col_ && i != target_col && !(has_series_ && i == series_col_)) channel_cols_.push_back(i);
  } else {
    for (const std::string& f : data.feature_columns) {
      const size_t i = find_column(header_, f, "data.feature_columns", file, header_line_);
      if (i == target_col) continue;
      if (has_series_ && i == series_col_)
        throw DataError(file, header_line_, f, "the series column cannot be a feature");
      channel_cols_.push_back(i);
    }
  }
  std::vector<std::string> got;
  for (size_t c : channel_cols_) got.push_back(header_[c]);
  if (got != channels)
    throw DataError(file, header_line_, "",
                    "the model reads channels [" + join_names(channels) + "], the file gives [" + join_names(got) + "]");
  C_ = static_cast<int64_t>(channel_cols_.size());
}

WindowStream::~WindowStream() = default;

const std::string& WindowStream::series_name(int32_t id) const { return series_[static_cast<size_t>(id)]->name; }

bool WindowStream::read_row() {
  const std::string& file = reader_.name();
  if (!reader_.next(fields_)) return false;
  const int64_t line = reader_.line();
  if (fields_.size() != header_.size())
    throw DataError(file, line, "",
                    "expected " + std::to_string(header_.size()) + " fields (as in the header), got " +
                        std::to_string(fields_.size()));
  const auto t = parse_timestamp(fields_[time_col_]);
  if (!t) throw DataError(file, line, header_[time_col_], "cannot parse timestamp " + quote_cell(fields_[time_col_]));

  // The series, with a cache for runs of rows of one series.
  int32_t id = 0;
  const std::string_view name = has_series_ ? trim_cell(fields_[series_col_]) : std::string_view();
  if (last_series_ >= 0 && series_[static_cast<size_t>(last_series_)]->name == name) {
    id = last_series_;
  } else {
    auto [it, inserted] = series_ids_.emplace(std::string(name), static_cast<int32_t>(series_.size()));
    if (inserted) {
      auto s = std::make_unique<Series>();
      s->name = std::string(name);
      s->fill.resize(static_cast<size_t>(C_));
      s->ring.assign(static_cast<size_t>(L_ * C_), 0.f);
      s->ring_filled.assign(static_cast<size_t>(L_), 0);
      series_.push_back(std::move(s));
    }
    id = it->second;
    last_series_ = id;
  }
  Series& s = *series_[static_cast<size_t>(id)];
  if (s.next_seq > 0 && *t <= s.last_time) {
    const std::string where = s.name.empty() ? std::string() : " in series '" + s.name + "'";
    const std::string msg = *t == s.last_time
                                ? "duplicate timestamp '" + format_timestamp(*t) + "' (also on line " +
                                      std::to_string(s.last_line) + ")"
                                : "timestamps out of order: '" + format_timestamp(*t) + "' comes after '" +
                                      format_timestamp(s.last_time) + "' on line " + std::to_string(s.last_line);
    throw DataError(file, line, header_[time_col_], msg + where);
  }
  s.last_time = *t;
  s.last_line = line;

  PendingRow row;
  row.seq = s.next_seq++;
  row.time = *t;
  row.values.resize(static_cast<size_t>(C_));
  for (int64_t c = 0; c < C_; ++c) {
    const std::string_view cell = fields_[channel_cols_[static_cast<size_t>(c)]];
    float x;
    if (parse_number_cell(cell, x)) {
      row.values[static_cast<size_t>(c)] = x;
    } else if (is_missing_cell(cell)) {
      if (data_.missing_policy == MissingPolicy::kReject)
        throw DataError(file, line, header_[channel_cols_[static_cast<size_t>(c)]],
                        "missing value " + quote_cell(cell) + " (data.missing_policy = reject)");
      row.values[static_cast<size_t>(c)] = kNaN;
    } else {
      throw DataError(file, line, header_[channel_cols_[static_cast<size_t>(c)]], "not a number: " + quote_cell(cell));
    }
  }
  s.pending.push_back(std::move(row));
  ++rows_;

  // Forward fill, channel by channel: a run closes at the next value (filled when it had a value
  // before it and is at most max_fill_ long), and is decided unfilled once longer than max_fill_.
  const PendingRow& cur = s.pending.back();
  const int64_t front_seq = s.pending.front().seq;
  for (int64_t c = 0; c < C_; ++c) {
    ChannelFill& f = s.fill[static_cast<size_t>(c)];
    const float x = cur.values[static_cast<size_t>(c)];
    if (std::isnan(x)) {
      ++f.run_len;
      if (f.run_len == 1 && f.have_prev && max_fill_ >= 1) f.undecided_from = cur.seq;
      if (f.run_len > max_fill_) f.undecided_from = kNone;
    } else {
      if (f.undecided_from != kNone) {
        for (int64_t q = f.undecided_from; q < cur.seq; ++q) {
          PendingRow& r = s.pending[static_cast<size_t>(q - front_seq)];
          r.values[static_cast<size_t>(c)] = f.prev;
          r.filled = 1;
        }
      }
      f.undecided_from = kNone;
      f.run_len = 0;
      f.have_prev = true;
      f.prev = x;
    }
  }
  mark_releasable(s);
  return true;
}

void WindowStream::mark_releasable(Series& s) {
  int64_t first_undecided = kNone;
  for (const ChannelFill& f : s.fill) first_undecided = std::min(first_undecided, f.undecided_from);
  const int64_t id = series_ids_.at(s.name);
  while (s.marked < static_cast<int64_t>(s.pending.size()) &&
         s.pending[static_cast<size_t>(s.marked)].seq < first_undecided) {
    ready_.push_back(static_cast<int32_t>(id));
    ++s.marked;
  }
}

void WindowStream::finish() {
  if (rows_ == 0) throw DataError(reader_.name(), header_line_, "", "no data rows after the header");
  for (auto& sp : series_) {
    Series& s = *sp;
    // A run still open at the end of the series is filled like forward_fill() fills it.
    for (int64_t c = 0; c < C_; ++c) {
      ChannelFill& f = s.fill[static_cast<size_t>(c)];
      if (f.undecided_from != kNone && !s.pending.empty()) {
        const int64_t front_seq = s.pending.front().seq;
        for (int64_t q = f.undecided_from; q < s.next_seq; ++q) {
          PendingRow& r = s.pending[static_cast<size_t>(q - front_seq)];
          r.values[static_cast<size_t>(c)] = f.prev;
          r.filled = 1;
        }
      }
      f.undecided_from = kNone;
    }
    mark_releasable(s);
  }
}

bool WindowStream::release(WindowBatch* out) {
  const int32_t id = ready_.front();
  ready_.pop_front();
  Series& s = *series_[static_cast<size_t>(id)];
  PendingRow row = std::move(s.pending.front());
  s.pending.pop_front();
  --s.marked;

  bool has_nan = false;
  for (float x : row.values) has_nan |= std::isnan(x);
  const size_t slot = static_cast<size_t>(s.head);
  if (s.released >= L_) s.filled_in_ring -= s.ring_filled[slot];
  std::memcpy(&s.ring[slot * static_cast<size_t>(C_)], row.values.data(), sizeof(float) * static_cast<size_t>(C_));
  s.ring_filled[slot] = row.filled;
  s.filled_in_ring += row.filled;
  s.head = (s.head + 1) % L_;
  ++s.released;
  s.clean_run = has_nan ? 0 : s.clean_run + 1;
  if (s.released < L_) return false;  // not an origin yet
  if (s.clean_run < L_) {
    ++skipped_;
    return false;
  }
  ++windows_;
  if (!out) return true;
  // Oldest row first: ring slots [head, L) then [0, head).
  const size_t row_floats = static_cast<size_t>(C_);
  const size_t first = static_cast<size_t>(L_ - s.head) * row_floats;
  std::vector<float>& v = out->input.values;
  v.insert(v.end(), s.ring.begin() + static_cast<std::ptrdiff_t>(s.head * C_), s.ring.begin() + static_cast<std::ptrdiff_t>(s.head * C_ + first));
  v.insert(v.end(), s.ring.begin(), s.ring.begin() + static_cast<std::ptrdiff_t>(s.head * C_));
  out->input.filled_fraction.push_back(static_cast<float>(s.filled_in_ring) / static_cast<float>(L_));
  out->series.push_back(id);
  out->origin.push_back(row.time);
  ++out->input.windows;
  return true;
}

int64_t WindowStream::next(WindowBatch* out, int64_t max_windows) {
  if (out) {
    out->input.length = L_;
    if (out->input.channels.empty())
      for (size_t c : channel_cols_) out->input.channels.push_back(header_[c]);
  }
  int64_t made = 0;
  while (made < max_windows) {
    if (!ready_.empty()) {
      made += release(out) ? 1 : 0;
      continue;
    }
    if (eof_) break;
    if (!read_row()) {
      eof_ = true;
      finish();
    }
  }
  return made;
}

}  // namespace spikecast::score
