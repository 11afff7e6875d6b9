// Exceptions thrown inside spikecast, and the exit codes they map to at the edge (apps/, serve/).
// Messages are exact: which file, row, column or field, what was expected and what was found.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace spikecast {

// Process exit codes; the CLI is the only place that turns exceptions into these.
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,  // internal or unexpected error
  kUsage = 2,    // bad command line
  kConfig = 3,   // bad configuration value or unknown key
  kData = 4,     // bad input data
  kModel = 5,    // model bundle missing, corrupt or incompatible
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual ExitCode exit_code() const { return ExitCode::kFailure; }
};

// A configuration field is invalid or unknown. `field` is the dotted key, e.g. "window.horizon".
class ConfigError : public Error {
 public:
  ConfigError(std::string field, const std::string& message);
  const std::string& field() const { return field_; }
  ExitCode exit_code() const override { return ExitCode::kConfig; }

 private:
  std::string field_;
};

// Input data is malformed. row is the 1-based line number in the file (0 when not applicable),
// column is the column name (empty when not applicable).
class DataError : public Error {
 public:
  DataError(std::string file, int64_t row, std::string column, const std::string& message);
  const std::string& file() const { return file_; }
  int64_t row() const { return row_; }
  const std::string& column() const { return column_; }
  ExitCode exit_code() const override { return ExitCode::kData; }

 private:
  std::string file_;
  int64_t row_;
  std::string column_;
};

// A model bundle cannot be used: missing file, checksum mismatch, incompatible manifest.
class ModelError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kModel; }
};

}  // namespace spikecast
