#include "serve/predict_request_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace spikecast::serve {
namespace {

using nlohmann::json;

// nlohmann's SAX interface over the request: every method returns false (stop: not a plain, valid
// request) at the first thing it does not expect.
class Reader {
 public:
  Reader(const ModelInfo& info, const PredictLimits& limits)
      : channels_(info.channels),
        limits_(limits),
        length_(info.input_length),
        width_(static_cast<int64_t>(info.channels.size())),
        seen_(info.channels.size(), 0) {}

  bool done() const { return at_ == At::kEnd; }

  void move_into(PredictInput& in, std::vector<json>* ids) {
    in.windows = static_cast<int64_t>(filled_.size());
    in.length = length_;
    in.channels = channels_;
    in.values = std::move(values_);
    in.filled_fraction = std::move(filled_);
    if (ids) ids->insert(ids->end(), ids_.begin(), ids_.end());
  }

  // Values.
  bool null() { return scalar(json()); }
  bool boolean(bool v) { return scalar(json(v)); }
  bool string(json::string_t& v) { return scalar(json(v)); }
  bool binary(json::binary_t&) { return false; }
  bool number_integer(json::number_integer_t v) { return number(static_cast<double>(v), [v] { return json(v); }); }
  bool number_unsigned(json::number_unsigned_t v) { return number(static_cast<double>(v), [v] { return json(v); }); }
  bool number_float(json::number_float_t v, const json::string_t&) { return number(v, [v] { return json(v); }); }

  // Structure.
  bool start_object(std::size_t) {
    if (!deeper()) return false;
    switch (at_) {
      case At::kBody: at_ = At::kTop; return true;
      case At::kWindows:
        if (static_cast<int64_t>(filled_.size()) >= limits_.max_windows) return false;
        begin_window();
        at_ = At::kWindow;
        return true;
      case At::kWindow:
        if (next_ != Next::kColumns) return false;
        at_ = At::kColumns;
        begin_channels();
        return true;
      case At::kRows:
        if (step_ >= length_) return false;
        at_ = At::kRow;
        begin_channels();
        return true;
      default: return false;
    }
  }

  bool end_object() {
    --depth_;
    switch (at_) {
      case At::kTop:  // {"windows": [...]}
        if (!windows_done_) return false;
        at_ = At::kEnd;
        return true;
      case At::kWindow:
        if (has_rows_ == has_columns_) return false;
        filled_.push_back(filled_value_);
        ids_.push_back(std::move(id_));
        at_ = bare_ ? At::kEnd : At::kWindows;
        return true;
      case At::kRow:
        if (found_ != width_ || channel_ >= 0) return false;
        ++step_;
        at_ = At::kRows;
        return true;
      case At::kColumns:
        if (found_ != width_ || channel_ >= 0) return false;
        at_ = At::kWindow;
        next_ = Next::kNone;
        return true;
      default: return false;
    }
  }

  bool start_array(std::size_t) {
    if (!deeper()) return false;
    switch (at_) {
      case At::kTop:
        if (next_ != Next::kWindows) return false;
        at_ = At::kWindows;
        return true;
      case At::kWindow:
        if (next_ != Next::kRows) return false;
        at_ = At::kRows;
        step_ = 0;
        return true;
      case At::kColumns:
        if (channel_ < 0) return false;
        at_ = At::kColumn;
        step_ = 0;
        return true;
      default: return false;
    }
  }

  bool end_array() {
    --depth_;
    switch (at_) {
      case At::kWindows:
        if (filled_.empty()) return false;
        at_ = At::kTop;
        next_ = Next::kNone;
        windows_done_ = true;
        return true;
      case At::kRows:
        if (step_ != length_) return false;
        at_ = At::kWindow;
        next_ = Next::kNone;
        return true;
      case At::kColumn:
        if (step_ != length_) return false;
        at_ = At::kColumns;
        channel_ = -1;
        return true;
      default: return false;
    }
  }

  bool key(json::string_t& k) {
    switch (at_) {
      case At::kTop:
        if (bare_ || windows_done_ || next_ != Next::kNone) return false;
        if (k == "windows") {
          next_ = Next::kWindows;
          return true;
        }
        // A bare window: the body is the window.
        if (!filled_.empty()) return false;
        bare_ = true;
        begin_window();
        at_ = At::kWindow;
        return window_key(k);
      case At::kWindow: return window_key(k);
      case At::kRow:
      case At::kColumns: {
        if (channel_ >= 0) return false;
        const int64_t c = channel(k);
        if (c < 0 || seen_[static_cast<size_t>(c)]) return false;
        seen_[static_cast<size_t>(c)] = 1;
        ++found_;
        channel_ = c;
        return true;
      }
      default: return false;
    }
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  enum class At { kBody, kTop, kWindows, kWindow, kRows, kRow, kColumns, kColumn, kEnd };
  enum class Next { kNone, kWindows, kRows, kColumns, kFilled, kId };  // the value after a key

  bool deeper() { return depth_++ < limits_.max_json_depth; }

  void begin_window() {
    base_ = values_.size();
    values_.resize(base_ + static_cast<size_t>(length_ * width_), 0.0f);
    has_rows_ = has_columns_ = has_filled_ = has_id_ = false;
    filled_value_ = 0.0f;
    id_ = json();
    next_ = Next::kNone;
  }

  // A row or a columns object: every channel once.
  void begin_channels() {
    std::fill(seen_.begin(), seen_.end(), 0);
    found_ = 0;
  }

  bool window_key(const std::string& k) {
    if (next_ != Next::kNone) return false;
    bool* has = nullptr;
    if (k == "rows") {
      has = &has_rows_;
      next_ = Next::kRows;
    } else if (k == "columns") {
      has = &has_columns_;
      next_ = Next::kColumns;
    } else if (k == "filled_fraction") {
      has = &has_filled_;
      next_ = Next::kFilled;
    } else if (k == "id") {
      has = &has_id_;
      next_ = Next::kId;
    } else {
      return false;
    }
    if (*has) return false;
    *has = true;
    return true;
  }

  // The channel named k: the one after the last is tried first (clients send rows in one order).
  int64_t channel(const std::string& k) {
    for (int64_t i = 0; i < width_; ++i) {
      const int64_t c = (last_channel_ + 1 + i) % width_;
      if (channels_[static_cast<size_t>(c)] == k) return last_channel_ = c;
    }
    return -1;
  }

  // A scalar that is not a number: only a window's id.
  bool scalar(json v) {
    if (at_ != At::kWindow || next_ != Next::kId) return false;
    id_ = std::move(v);
    next_ = Next::kNone;
    return true;
  }

  // The value of channel_ at step_ of the window, when it is a finite float32.
  bool store(double d, float f) {
    if (!std::isfinite(d) || !std::isfinite(f)) return false;
    values_[base_ + static_cast<size_t>(step_ * width_ + channel_)] = f;
    return true;
  }

  template <typename AsJson>
  bool number(double d, AsJson as_json) {
    const float f = static_cast<float>(d);
    switch (at_) {
      case At::kRow:
        if (channel_ < 0 || !store(d, f)) return false;
        channel_ = -1;
        return true;
      case At::kColumn:
        if (step_ >= length_ || !store(d, f)) return false;
        ++step_;
        return true;
      case At::kWindow:
        if (next_ == Next::kId) return scalar(as_json());
        if (next_ != Next::kFilled || !std::isfinite(d) || !(f >= 0.0f && f <= 1.0f)) return false;
        filled_value_ = f;
        next_ = Next::kNone;
        return true;
      default: return false;
    }
  }

  const std::vector<std::string>& channels_;
  const PredictLimits& limits_;
  const int64_t length_, width_;
  At at_ = At::kBody;
  Next next_ = Next::kNone;
  int depth_ = 0;
  bool bare_ = false, windows_done_ = false;
  // The window being read.
  size_t base_ = 0;
  bool has_rows_ = false, has_columns_ = false, has_filled_ = false, has_id_ = false;
  float filled_value_ = 0.0f;
  json id_;
  int64_t step_ = 0;          // row, or value of a column
  int64_t channel_ = -1;      // the channel whose value comes next
  int64_t last_channel_ = -1;
  std::vector<char> seen_;    // channels of this row or columns object
  int64_t found_ = 0;
  // What it read.
  std::vector<float> values_;
  std::vector<float> filled_;
  std::vector<json> ids_;
};

}  // namespace

bool read_predict_request(const std::string& body, const ModelInfo& info, const PredictLimits& limits,
                          PredictInput& in, std::vector<json>* ids) {
  if (body.empty() || info.channels.empty() || info.input_length < 1) return false;
  Reader reader(info, limits);
  try {
    if (!json::sax_parse(body, &reader) || !reader.done()) return false;
  } catch (const json::exception&) {
    return false;
  }
  reader.move_into(in, ids);
  return true;
}

}  // namespace spikecast::serve
