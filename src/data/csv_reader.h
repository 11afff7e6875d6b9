// A fast in-memory CSV reader (RFC 4180): the whole file is read into one buffer and records are
// returned as string_views into it, so no cell allocates. Quoted fields ("" escapes, commas and
// newlines inside quotes) are unescaped in place, which only ever shrinks a field, so views stay
// valid for the reader's lifetime. Handles CRLF and lone CR line ends, a UTF-8 BOM, a missing final
// newline; blank lines are skipped. Each record knows the 1-based file line where it began.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spikecast {

class CsvReader {
 public:
  // `name` stands for the file in error messages.
  CsvReader(std::string text, std::string name);
  ~CsvReader();
  CsvReader(CsvReader&& other) noexcept;
  CsvReader& operator=(CsvReader&&) = delete;
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Maps the file privately (copy-on-write, so in-place unescaping never touches the file and
  // untouched pages are never copied). Throws DataError when it cannot be opened or mapped.
  static CsvReader from_file(const std::string& path);

  // Reads the next non-blank record into `fields` (cleared first). Returns false at the end of
  // the input. Throws DataError for an unterminated quote or text after a closing quote.
  bool next(std::vector<std::string_view>& fields);

  // 1-based line on which the record last returned by next() began.
  int64_t line() const { return record_line_; }
  const std::string& name() const { return name_; }
  size_t size_bytes() const { return size_; }

 private:
  CsvReader(char* data, size_t size, void* map, std::string name);

  std::string text_;      // owned text (when not mapped)
  char* data_ = nullptr;  // text_.data() or the mapping
  size_t size_ = 0;
  void* map_ = nullptr;   // mmap'ed region, unmapped in the destructor
  std::string name_;
  size_t pos_ = 0;
  int64_t line_ = 1;         // line of text_[pos_]
  int64_t record_line_ = 0;  // line where the current record began
};

// The bytes of a file. Throws DataError naming the file when it cannot be opened or read.
std::string read_text_file(const std::string& path);

// Reads every record of a CSV text (header included) as owned strings; for tests and small files.
std::vector<std::vector<std::string>> read_csv_records(std::string text, const std::string& name);

// The cell as it should appear in an error message: quoted, at most 40 characters, control
// characters shown as '?'.
std::string quote_cell(std::string_view cell);

// Parses one record of the dialect above from buf[pos, limit), the record's first byte at pos (not
// a blank line): fields end at ',', the record at a line end outside quotes or at `limit`; quoted
// fields are unescaped in place. On return `pos` is past the record's line end (CRLF once; none
// when the record ends at `size`, the end of the buffer) and `line` has counted every line end
// consumed, quoted ones included. Shared by CsvReader (limit = size = the file) and the streaming
// reader of `spikecast score` (limit = the record's line end, found first). Throws DataError
// naming `name` and the line for an unterminated quote (at record_line) or text after a closing
// quote.
void parse_csv_record(char* buf, size_t limit, size_t size, size_t& pos, int64_t& line, int64_t record_line,
                      const std::string& name, std::vector<std::string_view>& fields);

// A cell without surrounding spaces and tabs.
std::string_view trim_cell(std::string_view s);
// Names separated by ", " (for messages).
std::string join_names(const std::vector<std::string>& names);

}  // namespace spikecast
