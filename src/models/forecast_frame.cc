#include "models/forecast_frame.h"

#include "core/error.h"
#include "models/option_reader.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>

#include "models/cuda_call.h"
#include "models/window_norm_cuda.h"
#endif

namespace spikecast::models {

namespace {

#ifdef SPIKECAST_WITH_CUDA_KERNELS
// The frame's normalisation by one kernel (window_norm_cuda.h): float32 windows on a card that
// autograd need not differentiate (the data never requires a gradient; a caller's own input may).
bool kernel_takes(const torch::Tensor& x) {
  static const bool on = cuda_call::switched_on("SPIKECAST_CUDA_WINDOW_NORM");
  return on && x.is_cuda() && x.scalar_type() == torch::kFloat32 && x.dim() == 3 &&
         !(torch::GradMode::is_enabled() && x.requires_grad()) && cuda_window_norm::supported(x.size(1), x.size(2));
}

NormalizedWindow kernel_normalize(const torch::Tensor& input, const FrameOptions& o) {
  const c10::cuda::CUDAGuard device_guard(input.device());
  const torch::Tensor x = input.contiguous();
  NormalizedWindow w;
  w.x = torch::empty_like(x);
  w.center = torch::empty({x.size(0), 1, x.size(2)}, x.options());
  w.scale = torch::empty({x.size(0), 1, x.size(2)}, x.options());
  cuda_window_norm::Forward f;
  f.windows = x.size(0);
  f.length = static_cast<int>(x.size(1));
  f.channels = static_cast<int>(x.size(2));
  f.center_last = o.window_norm == "last";
  f.scale = o.scale;
  f.eps = static_cast<float>(o.eps);
  f.x = x.data_ptr<float>();
  f.y = w.x.data_ptr<float>();
  f.center = w.center.data_ptr<float>();
  f.scale_out = w.scale.data_ptr<float>();
  cuda_call::checked([&] { cuda_window_norm::run(f, cuda_call::stream_of(x)); });
  return w;
}
#endif

}  // namespace

void FrameOptions::read(OptionReader& r) {
  r.read("window_norm", window_norm);
  r.read("norm_scale", scale);
  r.read("norm_eps", eps);
  r.read("linear_skip", linear_skip);
}

void FrameOptions::write(nlohmann::json& j) const {
  j["window_norm"] = window_norm;
  j["norm_scale"] = scale;
  j["norm_eps"] = eps;
  j["linear_skip"] = linear_skip;
}

void FrameOptions::validate(const std::string& prefix) const {
  if (window_norm != "last" && window_norm != "mean" && window_norm != "none")
    throw ConfigError(prefix + ".window_norm", "must be 'last', 'mean' or 'none', got '" + window_norm + "'");
  if (!(eps > 0.0)) throw ConfigError(prefix + ".norm_eps", "must be > 0, got " + std::to_string(eps));
}

ForecastFrameImpl::ForecastFrameImpl(const FrameOptions& options, int64_t input_length, int64_t horizon)
    : options_(options) {
  if (options_.linear_skip) {
    skip_ = register_module("skip", torch::nn::Linear(input_length, horizon));
    torch::NoGradGuard no_grad;
    skip_->weight.zero_();
    skip_->bias.zero_();
  }
}

NormalizedWindow ForecastFrameImpl::normalize(const torch::Tensor& x) const {
  NormalizedWindow w;
  if (options_.window_norm == "none") {
    w.x = x;
    w.center = torch::zeros({x.size(0), 1, x.size(2)}, x.options());
    w.scale = torch::ones({x.size(0), 1, x.size(2)}, x.options());
    return w;
  }
#ifdef SPIKECAST_WITH_CUDA_KERNELS
  if (kernel_takes(x)) return kernel_normalize(x, options_);
#endif
  w.center = options_.window_norm == "last" ? x.narrow(1, x.size(1) - 1, 1) : x.mean(1, true);
  if (options_.scale) {
    // Population variance over the window (RevIN); eps keeps a flat window finite.
    w.scale = torch::sqrt(x.var(1, /*unbiased=*/false, /*keepdim=*/true) + options_.eps);
  } else {
    w.scale = torch::ones_like(w.center);
  }
  w.x = (x - w.center) / w.scale;
  return w;
}

torch::Tensor ForecastFrameImpl::finish(const torch::Tensor& correction, const NormalizedWindow& w) {
  torch::Tensor y = correction;
  if (skip_) y = y + skip_->forward(w.x.select(2, 0));
  // center/scale of the target: [B, 1, C] -> [B, 1], broadcast over H.
  return w.center.select(2, 0) + w.scale.select(2, 0) * y;
}

}  // namespace spikecast::models
