#include "data/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace spikecast {

namespace {

size_t bom_length(const char* p, size_t n) {
  return n >= 3 && static_cast<unsigned char>(p[0]) == 0xEF && static_cast<unsigned char>(p[1]) == 0xBB &&
                 static_cast<unsigned char>(p[2]) == 0xBF
             ? 3
             : 0;
}

// True when one of the 8 bytes of w is ',', '\n' or '\r' (the classic has-zero-byte trick on
// w XOR the byte broadcast).
inline bool has_field_end(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  const auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return (has_zero(w ^ (kOnes * ',')) | has_zero(w ^ (kOnes * '\n')) | has_zero(w ^ (kOnes * '\r'))) != 0;
}

}  // namespace

CsvReader::CsvReader(std::string text, std::string name) : text_(std::move(text)), name_(std::move(name)) {
  data_ = text_.data();
  size_ = text_.size();
  pos_ = bom_length(data_, size_);
}

CsvReader::CsvReader(char* data, size_t size, void* map, std::string name)
    : data_(data), size_(size), map_(map), name_(std::move(name)) {
  pos_ = bom_length(data_, size_);
}

CsvReader::CsvReader(CsvReader&& o) noexcept
    : text_(std::move(o.text_)),
      data_(o.map_ ? o.data_ : text_.data()),
      size_(o.size_),
      map_(o.map_),
      name_(std::move(o.name_)),
      pos_(o.pos_),
      line_(o.line_),
      record_line_(o.record_line_) {
  o.map_ = nullptr;
  o.data_ = nullptr;
  o.size_ = 0;
}

CsvReader::~CsvReader() {
  if (map_) munmap(map_, size_);
}

std::string read_text_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw DataError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(f);
    throw DataError(path, 0, "", "not a regular file");
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  const size_t got = text.empty() ? 0 : std::fread(&text[0], 1, text.size(), f);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw DataError(path, 0, "", "read error");
  text.resize(got);
  return text;
}

CsvReader CsvReader::from_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw DataError(path, 0, "", "not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return CsvReader(std::string(), path);
  }
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return CsvReader(read_text_file(path), path);  // e.g. a pipe-like file
  madvise(map, size, MADV_SEQUENTIAL);
  return CsvReader(static_cast<char*>(map), size, map, path);
}

bool CsvReader::next(std::vector<std::string_view>& fields) {
  fields.clear();
  char* const p = data_;
  const size_t n = size_;
  // Skip blank lines.
  while (pos_ < n) {
    if (p[pos_] == '\n') {
      ++pos_;
      ++line_;
    } else if (p[pos_] == '\r') {
      ++pos_;
      if (pos_ < n && p[pos_] == '\n') ++pos_;
      ++line_;
    } else {
      break;
    }
  }
  if (pos_ >= n) return false;
  record_line_ = line_;
  parse_csv_record(p, n, n, pos_, line_, record_line_, name_, fields);
  return true;
}

void parse_csv_record(char* p, size_t limit, size_t size, size_t& pos, int64_t& line, int64_t record_line,
                      const std::string& name, std::vector<std::string_view>& fields) {
  const auto end_of_line = [&] {  // at '\r' or '\n', or the end of the buffer
    if (pos >= size) return;
    if (p[pos] == '\r' && pos + 1 < size && p[pos + 1] == '\n') ++pos;
    ++pos;
    ++line;
  };
  for (;;) {
    if (pos < limit && p[pos] == '"') {
      const size_t start = ++pos;
      size_t out = start;
      for (;;) {
        if (pos >= limit)
          throw DataError(name, record_line, "",
                          "unterminated quoted field " + std::to_string(fields.size() + 1) +
                              " (the quote is never closed)");
        const char c = p[pos];
        if (c == '"') {
          if (pos + 1 < limit && p[pos + 1] == '"') {
            p[out++] = '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        if (c == '\n') ++line;
        p[out++] = c;
        ++pos;
      }
      fields.emplace_back(p + start, out - start);
      if (pos >= limit) return end_of_line();
      const char c = p[pos];
      if (c == ',') {
        ++pos;
        continue;
      }
      if (c == '\n' || c == '\r') return end_of_line();
      throw DataError(name, line, "",
                      "unexpected text after the closing quote of field " + std::to_string(fields.size()) + ": " +
                          quote_cell(std::string_view(p + pos, std::min<size_t>(limit - pos, 20))));
    }
    const size_t start = pos;
    // Skip 8 bytes at a time while none is a delimiter or line end (SWAR), then byte by byte.
    while (pos + 8 <= limit) {
      uint64_t w;
      std::memcpy(&w, p + pos, 8);
      if (has_field_end(w)) break;
      pos += 8;
    }
    while (pos < limit) {
      const char c = p[pos];
      if (c == ',' || c == '\n' || c == '\r') break;
      ++pos;
    }
    fields.emplace_back(p + start, pos - start);
    if (pos < limit && p[pos] == ',') {
      ++pos;
      continue;
    }
    return end_of_line();
  }
}

std::string_view trim_cell(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<std::vector<std::string>> read_csv_records(std::string text, const std::string& name) {
  CsvReader reader(std::move(text), name);
  std::vector<std::vector<std::string>> out;
  std::vector<std::string_view> fields;
  while (reader.next(fields)) out.emplace_back(fields.begin(), fields.end());
  return out;
}

std::string quote_cell(std::string_view cell) {
  std::string out = "'";
  const size_t limit = 40;
  for (size_t i = 0; i < cell.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(cell[i]);
    out += (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
  }
  if (cell.size() > limit) out += "...";
  return out + "'";
}

}  // namespace spikecast
