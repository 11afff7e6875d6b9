// A chunked CSV reader (RFC 4180) for files of any size: it reads the file through a fixed buffer
// (1 MiB by default, grown only to hold one record that is longer), so memory does not depend on
// the file size. Same dialect and messages as data/csv_reader.h (quoted fields with "" escapes,
// commas and newlines inside quotes; CRLF and lone CR line ends; a UTF-8 BOM; a missing final
// newline; blank lines skipped). Fields are string_views valid until the next call to next().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spikecast::score {

class CsvStreamReader {
 public:
  // Opens `path`; throws DataError naming it when it cannot be opened or is not a regular file.
  explicit CsvStreamReader(const std::string& path, size_t buffer_bytes = size_t{1} << 20);
  ~CsvStreamReader();
  CsvStreamReader(const CsvStreamReader&) = delete;
  CsvStreamReader& operator=(const CsvStreamReader&) = delete;

  // Reads the next non-blank record into `fields` (cleared first). Returns false at the end of
  // the file. Throws DataError for an unterminated quote or text after a closing quote.
  bool next(std::vector<std::string_view>& fields);

  // 1-based line on which the record last returned by next() began.
  int64_t line() const { return record_line_; }
  const std::string& name() const { return name_; }
  // Bytes of the file consumed so far (through the end of the last record returned).
  uint64_t offset() const { return consumed_ + pos_; }

 private:
  // Reads more bytes after buf_[end_), moving the unread part [pos_, end_) to the front first.
  // Returns false at the end of the file.
  bool refill();
  // Finds the end of the record starting at pos_ (at its line end, outside quotes), refilling as
  // needed. Returns the index of the line-end byte, or end_ when the file ends inside the record.
  size_t find_record_end();

  std::string name_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t pos_ = 0;        // next unread byte in buf_
  size_t end_ = 0;        // one past the last valid byte in buf_
  uint64_t consumed_ = 0; // file bytes before buf_[0]
  bool eof_ = false;
  bool started_ = false;  // BOM checked
  int64_t line_ = 1;         // line of buf_[pos_]
  int64_t record_line_ = 0;  // line where the current record began
};

}  // namespace spikecast::score
