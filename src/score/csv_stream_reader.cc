#include "score/csv_stream_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "data/csv_reader.h"

namespace spikecast::score {

CsvStreamReader::CsvStreamReader(const std::string& path, size_t buffer_bytes)
    : name_(path), buf_(std::max<size_t>(buffer_bytes, 64)) {
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw DataError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd_);
    fd_ = -1;
    throw DataError(path, 0, "", "not a regular file");
  }
  posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

CsvStreamReader::~CsvStreamReader() {
  if (fd_ >= 0) close(fd_);
}

bool CsvStreamReader::refill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    consumed_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one record longer than the buffer
  for (;;) {
    const ssize_t got = read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (got > 0) {
      end_ += static_cast<size_t>(got);
      return true;
    }
    if (got == 0) {
      eof_ = true;
      return false;
    }
    if (errno != EINTR) throw DataError(name_, 0, "", std::string("read error: ") + std::strerror(errno));
  }
}

size_t CsvStreamReader::find_record_end() {
  // Mirrors the parser below: a quote opens a quoted field only at the start of a field.
  enum State { kFieldStart, kUnquoted, kInQuote, kQuoteSeen } state = kFieldStart;
  size_t k = 0;  // scanned bytes after pos_ (stable across refills, which move pos_ to 0)
  for (;;) {
    while (pos_ + k < end_) {
      const char c = buf_[pos_ + k];
      const bool line_end = c == '\n' || c == '\r';
      switch (state) {
        case kFieldStart:
          if (c == '"') state = kInQuote;
          else if (line_end) return pos_ + k;
          else if (c != ',') state = kUnquoted;
          break;
        case kUnquoted:
          if (c == ',') state = kFieldStart;
          else if (line_end) return pos_ + k;
          break;
        case kInQuote:
          if (c == '"') state = kQuoteSeen;
          break;
        case kQuoteSeen:
          if (c == '"') state = kInQuote;
          else if (c == ',') state = kFieldStart;
          else if (line_end) return pos_ + k;
          else state = kUnquoted;  // the parser reports the text after the closing quote
          break;
      }
      ++k;
    }
    if (!refill()) return end_;
  }
}

bool CsvStreamReader::next(std::vector<std::string_view>& fields) {
  fields.clear();
  if (!started_) {
    while (end_ - pos_ < 3 && refill()) {
    }
    if (end_ - pos_ >= 3 && static_cast<unsigned char>(buf_[pos_]) == 0xEF &&
        static_cast<unsigned char>(buf_[pos_ + 1]) == 0xBB && static_cast<unsigned char>(buf_[pos_ + 2]) == 0xBF)
      pos_ += 3;
    started_ = true;
  }
  // Skip blank lines (a "\r\n" split across two reads counts once).
  for (;;) {
    if (pos_ >= end_ && !refill()) return false;
    const char c = buf_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
    } else if (c == '\r') {
      if (pos_ + 1 >= end_) refill();
      ++pos_;
      if (pos_ < end_ && buf_[pos_] == '\n') ++pos_;
      ++line_;
    } else {
      break;
    }
  }
  record_line_ = line_;
  size_t n = find_record_end();
  if (n < end_ && buf_[n] == '\r' && n + 1 >= end_) {  // is a '\n' next?
    const size_t before = pos_;
    refill();
    n -= before - pos_;
  }
  parse_csv_record(buf_.data(), n, end_, pos_, line_, record_line_, name_, fields);
  return true;
}

}  // namespace spikecast::score
