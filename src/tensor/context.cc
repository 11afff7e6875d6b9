#include "tensor/context.h"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <link.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/host_allocator.h"
#include "tensor/compat.h"

namespace spikecast {

torch::ScalarType Context::autocast_dtype() const {
  switch (precision) {
    case Precision::kBFloat16: return torch::kBFloat16;
    case Precision::kFloat16: return torch::kHalf;
    default: return torch::kFloat;
  }
}

Context make_context(const std::string& device, const std::string& precision) {
  Context ctx;
  if (device == "auto") {
    ctx.device = torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  } else if (device == "cpu") {
    ctx.device = torch::kCPU;
  } else if (device.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw ConfigError("device", "'" + device + "' asked for, but this build or machine has no CUDA");
    try {
      ctx.device = torch::Device(device);
    } catch (const c10::Error&) {
      throw ConfigError("device", "not a device: '" + device + "'");
    }
    if (ctx.device.index() >= static_cast<int>(torch::cuda::device_count()))
      throw ConfigError("device", "'" + device + "' but only " +
                                      std::to_string(torch::cuda::device_count()) + " CUDA devices");
  } else {
    throw ConfigError("device", "must be 'auto', 'cpu' or 'cuda[:N]', got '" + device + "'");
  }
  if (precision == "auto") {
    ctx.precision = ctx.is_cuda() ? Precision::kBFloat16 : Precision::kFloat32;
  } else if (precision == "fp32") {
    ctx.precision = Precision::kFloat32;
  } else if (precision == "bf16") {
    ctx.precision = Precision::kBFloat16;
  } else if (precision == "fp16") {
    ctx.precision = Precision::kFloat16;
  } else {
    throw ConfigError("precision", "must be 'auto', 'fp32', 'bf16' or 'fp16', got '" + precision + "'");
  }
  return ctx;
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

namespace {

// The BLAS the dynamic loader actually mapped (Debian switches libblas.so.3 by alternatives, so
// the build cannot know it): the first loaded object whose path mentions "blas".
std::string blas_in_use() {
  std::string found;
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) {
        auto* out = static_cast<std::string*>(data);
        // The CPU BLAS: OpenBLAS, the reference libblas, or MKL (not cuBLAS).
        const char* name = info->dlpi_name;
        if (out->empty() && name &&
            (std::strstr(name, "openblas") || std::strstr(name, "libblas.so") || std::strstr(name, "mkl_core")))
          *out = name;
        return 0;
      },
      &found);
  if (found.empty()) return "none loaded (MKL or built-in)";
  // Debian's libblas.so.3 is an alternatives symlink: name the library it resolves to.
  char resolved[4096];
  return realpath(found.c_str(), resolved) ? std::string(resolved) : found;
}

}  // namespace

bool set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
}

std::string runtime_summary() {
  std::string out = "LibTorch " + compat::torch_version();
  // at::get_parallel_info() names the BLAS and thread pool LibTorch was built with; the BLAS in use
  // at run time is whichever libblas.so.3 the loader picked (Debian's alternatives).
  out += ", BLAS " + blas_in_use();
  out += ", threads " + std::to_string(at::get_num_threads());
  out += ", host malloc " + host_allocator_description();
  if (torch::cuda::is_available()) {
    const auto& hooks = at::detail::getCUDAHooks();
    const long rt = hooks.versionCUDART();
    out += ", CUDA " + std::to_string(rt / 1000) + "." + std::to_string(rt % 1000 / 10) + " (" +
           std::to_string(torch::cuda::device_count()) + " devices)";
    if (torch::cuda::cudnn_is_available()) {
      const long v = hooks.versionCuDNN();  // e.g. 91002 for 9.10.2
      out += ", cuDNN " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
             std::to_string(v % 100);
    } else {
      out += ", cuDNN not available";
    }
  } else {
    out += ", CUDA not available";
  }
  return out;
}

const char* to_string(Precision p) {
  switch (p) {
    case Precision::kBFloat16: return "bf16";
    case Precision::kFloat16: return "fp16";
    default: return "fp32";
  }
}

}  // namespace spikecast
