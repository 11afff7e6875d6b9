// Writes a Table as CSV that load_csv reads back bit-exactly (floats in shortest round-trip form,
// NaN as an empty cell): columns time, [series], channels 1.., channel 0 (the target, last, as in
// ETT), [is_spike].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/table.h"

namespace spikecast {

struct CsvWriteOptions {
  std::string time_column = "timestamp";
  std::string series_column = "series";  // written only when the table has several series
  const std::vector<uint8_t>* labels = nullptr;  // [rows] adds an "is_spike" column
};

// Throws DataError naming the path when it cannot be written.
void write_csv(const Table& table, const std::string& path, const CsvWriteOptions& options = {});
std::string to_csv(const Table& table, const CsvWriteOptions& options = {});

}  // namespace spikecast
