#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace spikecast::train {
namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Error("cannot open '" + path + "' to sync it");
  ::fsync(fd);
  ::close(fd);
}

void commit_temp(const std::string& tmp, const std::string& path) {
  fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot rename '" + tmp + "' to '" + path + "'");
  const auto parent = std::filesystem::absolute(path).parent_path();
  fsync_path(parent.string(), true);
}

std::string temp_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

}  // namespace

StateDict snapshot(const torch::nn::Module& module) {
  StateDict out;
  torch::NoGradGuard no_grad;
  // On the host: a copy on the training device would hold another set of the weights there for the
  // whole run (1-1.5 MiB a member, which the peer's training step does not hold).
  const auto host_copy = [](const torch::Tensor& t) {
    return t.detach().to(torch::kCPU, t.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
  };
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), host_copy(p.value()));
  for (const auto& b : module.named_buffers(true)) out.emplace_back("buffer:" + b.key(), host_copy(b.value()));
  return out;
}

void restore(torch::nn::Module& module, const StateDict& state) {
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters(true);
  auto buffers = module.named_buffers(true);
  for (const auto& [name, value] : state) {
    torch::Tensor* target = name.rfind("buffer:", 0) == 0 ? buffers.find(name.substr(7)) : params.find(name);
    if (!target) throw Error("state has '" + name + "', which the module lacks");
    target->copy_(value);
  }
}

void write_state(torch::serialize::OutputArchive& archive, const std::string& key, const StateDict& state) {
  torch::serialize::OutputArchive sub;
  for (const auto& [name, value] : state) sub.write(name, value, /*is_buffer=*/true);
  archive.write(key, sub);
}

StateDict read_state(torch::serialize::InputArchive& archive, const std::string& key,
                     const torch::nn::Module& like) {
  torch::serialize::InputArchive sub;
  archive.read(key, sub);
  StateDict out = snapshot(like);
  for (auto& [name, value] : out) {
    torch::Tensor t;
    sub.read(name, t, /*is_buffer=*/true);
    value = t.to(value.device());
  }
  return out;
}

void atomic_save(torch::serialize::OutputArchive& archive, const std::string& path) {
  const std::string tmp = temp_name(path);
  archive.save_to(tmp);
  commit_temp(tmp, path);
}

}  // namespace spikecast::train
