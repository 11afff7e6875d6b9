#include "core/error.h"

namespace spikecast {
namespace {

std::string data_message(const std::string& file, int64_t row, const std::string& column,
                         const std::string& message) {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (row > 0) out += ":" + std::to_string(row);
  out += ": ";
  if (!column.empty()) out += "column '" + column + "': ";
  return out + message;
}

}  // namespace

ConfigError::ConfigError(std::string field, const std::string& message)
    : Error("config '" + field + "': " + message), field_(std::move(field)) {}

DataError::DataError(std::string file, int64_t row, std::string column, const std::string& message)
    : Error(data_message(file, row, column, message)),
      file_(std::move(file)),
      row_(row),
      column_(std::move(column)) {}

}  // namespace spikecast
