// The safetensors file format (https://github.com/huggingface/safetensors), written and read exactly
// so that Python's `safetensors` opens our files and we open theirs:
//   [8 bytes: header length N, little-endian u64][N bytes: JSON header, space-padded to 8 bytes]
//   [raw little-endian tensor data, contiguous, in the order of the header's data_offsets]
// header = {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//           "__metadata__": {"key": "string value", ...}}
// Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace spikecast {

struct SafetensorsData {
  // Tensors on the CPU, in file order (sorted by name when written by spikecast).
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::map<std::string, std::string> metadata;

  // The tensor called `name`, or an undefined tensor.
  torch::Tensor find(const std::string& name) const;
};

// The file's bytes. Tensors may live on any device and be non-contiguous; names must be unique
// and non-empty. Throws ModelError on an unsupported dtype or a duplicate name.
std::string serialize_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

// Parses bytes; `source` names the file in error messages. Validates everything (header length,
// JSON, dtypes, shapes vs byte ranges, contiguous offsets covering the data) and throws ModelError.
SafetensorsData parse_safetensors(const std::string& bytes, const std::string& source);

// Writes the file (plain write + fsync; atomicity is the caller's business) / reads it.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
SafetensorsData load_safetensors(const std::string& path);

// "F32" <-> torch::kFloat etc.; throws ModelError for anything else.
std::string safetensors_dtype_name(torch::ScalarType type);
torch::ScalarType safetensors_dtype(const std::string& name, const std::string& source);

}  // namespace spikecast
