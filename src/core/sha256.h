// SHA-256 (FIPS 180-4), used to checksum model bundle weights. Incremental: update() any number of
// times, then finish() once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spikecast {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Pads, returns the digest; the object must not be updated afterwards.
  Digest finish();

  static std::string to_hex(const Digest& digest);

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lower-case hex digest of a byte string.
std::string sha256_hex(std::string_view data);

// Lower-case hex digest of a file's contents; throws Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace spikecast
