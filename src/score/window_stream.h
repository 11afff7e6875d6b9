// Forecast windows streamed out of a CSV file of any size, in constant memory per series.
//
// Rows are read incrementally (CsvStreamReader), validated as data/csv_loader.h validates them
// (header columns, field count, timestamps strictly increasing per series, numeric cells, the
// missing-value policy; each problem a DataError naming file, line and column), and forward-filled
// exactly like forward_fill(): a run of at most max_fill_steps missing cells after a value is
// filled, a longer or leading run stays NaN. A row is released once every missing cell in it is
// decided, so at most max_fill_steps + 1 rows wait per series; released rows go into a ring of the
// last L rows of their series. Each released row t with L rows of history is a forecast origin:
// the window rows [t - L + 1, t]. Windows holding a NaN (an unfilled gap) are skipped and counted.
//
// Panel data need not be grouped by series (rows of different series may interleave); windows come
// out in the order their origin rows are released, which depends on the file only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/timestamp.h"
#include "score/csv_stream_reader.h"
#include "serve/predictor.h"

namespace spikecast::score {

// A batch of windows with the origin of each.
struct WindowBatch {
  serve::PredictInput input;          // [B, L, C] in original units, filled_fraction [B]
  std::vector<int32_t> series;        // [B] series id (WindowStream::series_name)
  std::vector<TimestampMs> origin;    // [B] timestamp of the window's last row

  int64_t size() const { return input.windows; }
  void clear();
};

class WindowStream {
 public:
  // Opens `path` and checks its header: the columns named by `data` (target first, then the
  // features, or every other column in file order) must give exactly `channels`.
  WindowStream(const std::string& path, const DataConfig& data, int64_t input_length,
               const std::vector<std::string>& channels);
  ~WindowStream();

  // Appends up to `max_windows` windows to `out` (nullptr: count them only, for resuming).
  // Returns how many; 0 only at the end of the file.
  int64_t next(WindowBatch* out, int64_t max_windows);

  const std::string& series_name(int32_t id) const;
  int64_t rows() const { return rows_; }                // data rows read
  int64_t series_count() const { return static_cast<int64_t>(series_.size()); }
  int64_t windows() const { return windows_; }          // windows returned
  int64_t skipped() const { return skipped_; }          // origins whose window touches a NaN
  int64_t line() const { return reader_.line(); }       // line of the last record read
  uint64_t bytes_read() const { return reader_.offset(); }

 private:
  struct Series;
  bool read_row();              // false at the end of the file
  void finish();                // end of file: close open gaps, release every row
  void mark_releasable(Series& s);
  bool release(WindowBatch* out);  // one row from ready_; true when it made a window

  CsvStreamReader reader_;
  DataConfig data_;
  int64_t L_;
  int64_t C_ = 0;
  int64_t max_fill_ = 0;
  std::vector<std::string> header_;
  int64_t header_line_ = 0;
  size_t time_col_ = 0, series_col_ = 0;
  bool has_series_ = false;
  std::vector<size_t> channel_cols_;
  std::vector<std::string_view> fields_;
  std::vector<std::unique_ptr<Series>> series_;
  std::unordered_map<std::string, int32_t> series_ids_;
  int32_t last_series_ = -1;
  std::deque<int32_t> ready_;  // series of rows ready to be released, in release order
  bool eof_ = false;
  int64_t rows_ = 0, windows_ = 0, skipped_ = 0;
};

}  // namespace spikecast::score
