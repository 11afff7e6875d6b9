#include "data/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <sys/stat.h>

#include "core/error.h"

namespace spikecast {

CsvReader::CsvReader(std::string text, std::string name) : text_(std::move(text)), name_(std::move(name)) {
  if (text_.size() >= 3 && static_cast<unsigned char>(text_[0]) == 0xEF &&
      static_cast<unsigned char>(text_[1]) == 0xBB && static_cast<unsigned char>(text_[2]) == 0xBF)
    pos_ = 3;
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

CsvReader CsvReader::from_file(const std::string& path) { return CsvReader(read_text_file(path), path); }

bool CsvReader::next(std::vector<std::string_view>& fields) {
  fields.clear();
  char* const p = text_.data();
  const size_t n = text_.size();
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
  const auto end_of_line = [&] {  // at '\r' or '\n'
    if (p[pos_] == '\r' && pos_ + 1 < n && p[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  };
  for (;;) {
    if (pos_ < n && p[pos_] == '"') {
      const size_t start = ++pos_;
      size_t out = start;
      for (;;) {
        if (pos_ >= n)
          throw DataError(name_, record_line_, "",
                          "unterminated quoted field " + std::to_string(fields.size() + 1) +
                              " (the quote is never closed)");
        const char c = p[pos_];
        if (c == '"') {
          if (pos_ + 1 < n && p[pos_ + 1] == '"') {
            p[out++] = '"';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n') ++line_;
        p[out++] = c;
        ++pos_;
      }
      fields.emplace_back(p + start, out - start);
      if (pos_ >= n) return true;
      const char c = p[pos_];
      if (c == ',') {
        ++pos_;
        continue;
      }
      if (c == '\n' || c == '\r') {
        end_of_line();
        return true;
      }
      throw DataError(name_, line_, "",
                      "unexpected text after the closing quote of field " +
                          std::to_string(fields.size()) + ": " +
                          quote_cell(std::string_view(p + pos_, std::min<size_t>(n - pos_, 20))));
    }
    const size_t start = pos_;
    while (pos_ < n) {
      const char c = p[pos_];
      if (c == ',' || c == '\n' || c == '\r') break;
      ++pos_;
    }
    fields.emplace_back(p + start, pos_ - start);
    if (pos_ >= n) return true;
    if (p[pos_] == ',') {
      ++pos_;
      continue;
    }
    end_of_line();
    return true;
  }
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
