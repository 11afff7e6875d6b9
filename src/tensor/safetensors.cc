#include "tensor/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "core/error.h"

namespace spikecast {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // as the Python implementation

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

void check_host(const std::string& source) {
  if (!host_is_little_endian())
    throw ModelError(source + ": safetensors I/O needs a little-endian host");
}

}  // namespace

torch::Tensor SafetensorsData::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  return {};
}

std::string safetensors_dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64: return "F64";
    case torch::kFloat32: return "F32";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    case torch::kInt64: return "I64";
    case torch::kInt32: return "I32";
    case torch::kInt16: return "I16";
    case torch::kInt8: return "I8";
    case torch::kUInt8: return "U8";
    case torch::kBool: return "BOOL";
    default:
      throw ModelError(std::string("safetensors: unsupported dtype ") + c10::toString(type));
  }
}

torch::ScalarType safetensors_dtype(const std::string& name, const std::string& source) {
  static const std::map<std::string, torch::ScalarType> kTypes = {
      {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16}, {"I64", torch::kInt64}, {"I32", torch::kInt32},
      {"I16", torch::kInt16}, {"I8", torch::kInt8}, {"U8", torch::kUInt8}, {"BOOL", torch::kBool}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw ModelError(source + ": unsupported safetensors dtype '" + name + "'");
  return it->second;
}

std::string serialize_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  check_host("safetensors");
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::vector<torch::Tensor> data;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__")
      throw ModelError("safetensors: invalid tensor name '" + name + "'");
    if (!seen.insert(name).second) throw ModelError("safetensors: duplicate tensor name '" + name + "'");
    if (!tensor.defined()) throw ModelError("safetensors: tensor '" + name + "' is undefined");
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    nlohmann::ordered_json entry;
    entry["dtype"] = safetensors_dtype_name(t.scalar_type());
    entry["shape"] = t.sizes().vec();
    entry["data_offsets"] = {offset, offset + bytes};
    header[name] = entry;
    offset += bytes;
    data.push_back(t);
  }
  std::string json = header.dump();
  // Pad with spaces so the data starts 8-byte aligned (what the Python writer does).
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + json.size() + offset);
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += json;
  for (const auto& t : data)
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
  return out;
}

SafetensorsData parse_safetensors(const std::string& bytes, const std::string& source) {
  check_host(source);
  if (bytes.size() < 8) throw ModelError(source + ": too short for a safetensors file (" +
                                         std::to_string(bytes.size()) + " bytes)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<uint8_t>(bytes[i])) << (8 * i);
  if (n > kMaxHeaderBytes || n > bytes.size() - 8)
    throw ModelError(source + ": safetensors header length " + std::to_string(n) +
                     " does not fit the file (" + std::to_string(bytes.size()) + " bytes)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(source + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw ModelError(source + ": safetensors header is not a JSON object");
  const uint64_t data_begin = 8 + n;
  const uint64_t data_size = bytes.size() - data_begin;

  SafetensorsData out;
  struct Span { uint64_t begin, end; std::string name; };
  std::vector<Span> spans;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") {
        if (!it->is_object()) throw ModelError(source + ": __metadata__ is not an object");
        for (auto m = it->begin(); m != it->end(); ++m) {
          if (!m->is_string()) throw ModelError(source + ": __metadata__['" + m.key() + "'] is not a string");
          out.metadata[m.key()] = m->get<std::string>();
        }
        continue;
      }
      const auto& e = *it;
      const std::string where = source + ": tensor '" + it.key() + "'";
      if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
        throw ModelError(where + ": needs dtype, shape and data_offsets");
      torch::ScalarType type = safetensors_dtype(e.at("dtype").get<std::string>(), where);
      std::vector<int64_t> shape = e.at("shape").get<std::vector<int64_t>>();
      auto offs = e.at("data_offsets").get<std::vector<uint64_t>>();
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_size)
        throw ModelError(where + ": data_offsets out of range (data is " + std::to_string(data_size) + " bytes)");
      uint64_t numel = 1;
      for (int64_t d : shape) {
        if (d < 0) throw ModelError(where + ": negative dimension");
        numel *= static_cast<uint64_t>(d);
      }
      uint64_t expect = numel * c10::elementSize(type);
      if (expect != offs[1] - offs[0])
        throw ModelError(where + ": shape needs " + std::to_string(expect) + " bytes, data_offsets give " +
                         std::to_string(offs[1] - offs[0]));
      torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
      if (expect > 0) std::memcpy(t.data_ptr(), bytes.data() + data_begin + offs[0], expect);
      spans.push_back({offs[0], offs[1], it.key()});
      out.tensors.emplace_back(it.key(), t);
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(source + ": malformed safetensors header: " + e.what());
  }
  // The tensors must tile the data buffer exactly, as the Python reader demands.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  uint64_t pos = 0;
  for (const auto& s : spans) {
    if (s.begin != pos) throw ModelError(source + ": tensor '" + s.name + "' data is not contiguous with the previous one");
    pos = s.end;
  }
  if (pos != data_size)
    throw ModelError(source + ": tensor data covers " + std::to_string(pos) + " of " +
                     std::to_string(data_size) + " bytes");
  // Hand tensors back in data order, which is the writer's order.
  std::sort(out.tensors.begin(), out.tensors.end(), [&](const auto& a, const auto& b) {
    auto pa = std::find_if(spans.begin(), spans.end(), [&](const Span& s) { return s.name == a.first; });
    auto pb = std::find_if(spans.begin(), spans.end(), [&](const Span& s) { return s.name == b.first; });
    return pa < pb;
  });
  return out;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::string bytes = serialize_safetensors(tensors, metadata);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw ModelError(path + ": cannot create: " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw ModelError(path + ": write failed: " + std::strerror(err));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw ModelError(path + ": fsync/close failed: " + std::strerror(errno));
}

SafetensorsData load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path + ": cannot open safetensors file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ModelError(path + ": read error");
  return parse_safetensors(bytes, path);
}

}  // namespace spikecast
