#include "models/recurrent_sequence_cuda.h"

#include <cstdint>
#include <limits>
#include <string>

#include "core/error.h"
#include "models/recurrent_module.h"

#ifdef SPIKECAST_WITH_CUDA_KERNELS
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/cuda/CUDAGuard.h>

#include "models/cuda_call.h"
#include "models/recurrent_tiled_cuda.h"
#include "tensor/compat.h"
#endif

namespace spikecast::models {

#ifdef SPIKECAST_WITH_CUDA_KERNELS
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool enabled() {
  static const bool on = cuda_call::switched_on("SPIKECAST_CUDA_SEQUENCE_KERNELS");
  return on;
}

using cuda_call::aligned;
using cuda_call::bits;
using cuda_call::zero_padded;

cuda_tiled::LayerShape shape_of(bool gru, const Tensor& x, int64_t hidden) {
  return {gru ? cuda_tiled::Cell::kGru : cuda_tiled::Cell::kLstm, static_cast<int>(x.size(0)),
          static_cast<int>(x.size(1)), static_cast<int>(hidden)};
}

// x [B, T, I] with its features padded with zeros to a multiple of 8 (the matrix products of a
// 13-feature first layer otherwise run cuBLAS's unaligned kernels, several times slower), and w
// [G, I] likewise.
Tensor pad_features(const Tensor& t) { return zero_padded(t, (t.size(-1) + 7) / 8 * 8); }

// One direction of one layer. Inputs x [B, T, I], w_ih [G, I], w_hh [G, H], b_ih, b_hh [G]; output
// y [B, T, H] bfloat16. The layer's inputs, input projections, output and output gradient are all
// bfloat16, so that a stack of layers (and the bf16 ops around them) hands tensors on without a
// conversion either way (a conversion of [4096, 100, 128] is about 160 us on an H200; there were two
// per layer when the layer answered in float16). A layer of at most kFusedInputs inputs hands the
// kernel x and W_ih instead of the projections (cuda_tiled::fuses_inputs): no [B, T, G] product is
// written and read back. Kept for backward: x (features padded, to kFusedInputs when fused) in
// bfloat16, which is x itself when it is already bfloat16 with a multiple of 8 features (exactly
// kFusedInputs when fused), W_hh in bfloat16, W_ih, and what the kernel kept (the activations [B, T, G], the LSTM's c or the GRU's W_hn h + b_hn
// [B, T, H] in float16, the state each step read [B, T, H] in bfloat16).
struct TiledDirection : torch::autograd::Function<TiledDirection> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w_ih, const Tensor& w_hh,
                        const Tensor& b_ih, const Tensor& b_hh, bool reverse, bool gru) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const c10::cuda::CUDAGuard device_guard(x.device());
    const int64_t batch = x.size(0), steps = x.size(1), hidden = w_hh.size(1), gates = w_hh.size(0);
    const auto half = x.options().dtype(torch::kHalf), bf16 = x.options().dtype(torch::kBFloat16);
    const bool fused = cuda_tiled::fuses_inputs(x.size(2));
    const Tensor x_bf = x.to(torch::kBFloat16).contiguous();
    const Tensor x_pad = fused ? aligned(zero_padded(x_bf, cuda_tiled::kFusedInputs)) : pad_features(x_bf);
    const Tensor w_in = zero_padded(w_ih, x_pad.size(2)).to(torch::kBFloat16).contiguous();
    const Tensor xp = fused ? Tensor() : torch::matmul(x_pad, w_in.t()).contiguous();
    const Tensor w_half = w_hh.to(torch::kHalf).contiguous();
    const Tensor b_in = (gru ? b_ih : b_ih + b_hh).to(torch::kFloat32).contiguous();
    const Tensor b_hidden = b_hh.to(torch::kFloat32).contiguous();
    Tensor y = torch::empty({batch, steps, hidden}, bf16);
    Tensor act = torch::empty({batch, steps, gates}, half);
    Tensor state = torch::empty({batch, steps, hidden}, half);
    Tensor h_prev = torch::empty({batch, steps, hidden}, bf16);
    cuda_tiled::Direction d;
    if (fused) {
      d.x = bits(x_pad);
      d.w_ih = bits(w_in);
    } else {
      d.xp = bits(xp);
    }
    d.b_in = b_in.data_ptr<float>();
    d.b_hh = gru ? b_hidden.data_ptr<float>() : nullptr;
    d.w_hh = bits(w_half);
    d.out = bits(y);
    d.out_batch_stride = steps * hidden;
    d.out_step_stride = hidden;
    d.reverse = reverse;
    d.act = bits(act);
    (gru ? d.hn : d.c) = bits(state);
    d.h_prev = bits(h_prev);
    cuda_call::checked([&] { cuda_tiled::run(shape_of(gru, x, hidden), &d, 1, cuda_call::stream_of(x)); });
    ctx->save_for_backward({x_pad, w_ih, w_hh.to(torch::kBFloat16).contiguous(), act, state, h_prev});
    ctx->saved_data["reverse"] = reverse;
    ctx->saved_data["gru"] = gru;
    ctx->saved_data["x_type"] = static_cast<int64_t>(x.scalar_type());
    ctx->saved_data["inputs"] = x.size(2);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list saved = ctx->get_saved_variables();
    const Tensor &x_pad = saved[0], &w_ih = saved[1], &w_bf = saved[2], &act = saved[3], &state = saved[4],
                 &h_prev = saved[5];
    const bool reverse = ctx->saved_data["reverse"].toBool(), gru = ctx->saved_data["gru"].toBool();
    const auto x_type = static_cast<torch::ScalarType>(ctx->saved_data["x_type"].toInt());
    const int64_t inputs = ctx->saved_data["inputs"].toInt();
    const c10::cuda::CUDAGuard device_guard(x_pad.device());
    const int64_t batch = x_pad.size(0), steps = x_pad.size(1), padded = x_pad.size(2);
    const int64_t hidden = w_bf.size(1), gates = w_bf.size(0);
    const cuda_tiled::LayerShape shape = shape_of(gru, x_pad, hidden);
    const Tensor dy = aligned(grad[0].to(torch::kBFloat16).contiguous());
    const auto bf16 = dy.options().dtype(torch::kBFloat16);
    Tensor dg_in = torch::empty({batch, steps, gates}, bf16);
    Tensor dg_hidden = gru ? torch::empty({batch, steps, gates}, bf16) : dg_in;
    Tensor db_blocks = torch::empty({cuda_tiled::backward_blocks(shape), gates + (gru ? hidden : 0)},
                                    dy.options().dtype(torch::kFloat32));
    cuda_tiled::BackwardDirection d;
    d.act = bits(act);
    (gru ? d.hn : d.c) = bits(state);
    d.h_prev = bits(h_prev);
    d.dy = bits(dy);
    d.w_hh = bits(w_bf);
    d.dg_in = bits(dg_in);
    d.dg_hidden = gru ? bits(dg_hidden) : nullptr;
    d.db_blocks = db_blocks.data_ptr<float>();
    d.reverse = reverse;
    cuda_call::checked([&] { cuda_tiled::run_backward(shape, d, cuda_call::stream_of(x_pad)); });

    const Tensor flat_in = dg_in.view({batch * steps, gates}), flat_hidden = dg_hidden.view({batch * steps, gates});
    variable_list out(7);  // one per input of apply(): x, w_ih, w_hh, b_ih, b_hh, reverse, gru
    if (ctx->needs_input_grad(0))
      out[0] = torch::mm(flat_in, zero_padded(w_ih, padded).to(torch::kBFloat16))
                   .view({batch, steps, padded})
                   .narrow(2, 0, inputs)
                   .to(x_type);
    if (ctx->needs_input_grad(1))
      out[1] = torch::mm(flat_in.t(), x_pad.view({batch * steps, padded}))
                   .narrow(1, 0, inputs)
                   .to(torch::kFloat32);
    if (ctx->needs_input_grad(2))  // h_prev is zero at the first step, which W_hh does not see
      out[2] = torch::mm(flat_hidden.t(), h_prev.view({batch * steps, hidden})).to(torch::kFloat32);
    if (ctx->needs_input_grad(3) || ctx->needs_input_grad(4)) {
      const Tensor db = db_blocks.sum(0);
      out[3] = db.narrow(0, 0, gates);
      out[4] = gru ? torch::cat({db.narrow(0, 0, 2 * hidden), db.narrow(0, gates, hidden)}) : out[3];
    }
    return out;
  }
};

}  // namespace

bool cuda_sequence_takes(const torch::nn::Module& layer, const torch::Tensor& x) {
  const RecurrentModule m = recurrent_module(layer);
  if (!enabled() || m.options == nullptr || !m.options->batch_first() || m.options->proj_size() != 0 ||
      x.dim() != 3 || !x.is_cuda() || !x.is_floating_point() || x.size(0) < kCudaSequenceMinBatch ||
      x.size(0) > std::numeric_limits<int>::max() || x.size(1) < 1 || !torch::GradMode::is_enabled() ||
      !compat::cuda_autocast_enabled() || !float32_parameters_on(layer, x.device()))
    return false;
  return cuda_tiled::train_supported(x.device().index(), shape_of(m.cell == Cell::kGru, x, m.options->hidden_size()));
}

bool cuda_sequence_available(const torch::Device& device) {
  if (!enabled() || !device.is_cuda()) return false;
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  for (const cuda_tiled::Cell cell : {cuda_tiled::Cell::kLstm, cuda_tiled::Cell::kGru})
    if (!cuda_tiled::train_supported(index, {cell, static_cast<int>(kCudaSequenceMinBatch), 1, 128})) return false;
  return true;
}

std::vector<torch::Tensor> cuda_sequence_directions(torch::nn::Module& layer, const torch::Tensor& x) {
  if (!cuda_sequence_takes(layer, x))
    throw ModelError("cuda_sequence_forward: needs a batch_first LSTM or GRU module without projections, float32 "
                     "parameters on the input's card, a CUDA input [B, T, I] with B >= " +
                     std::to_string(kCudaSequenceMinBatch) + ", autocast and autograd on");
  const RecurrentModule m = recurrent_module(layer);
  const bool gru = m.cell == Cell::kGru;
  return forward_directions(layer, m, x, [gru](const Tensor& in, const DirectionWeights& w, bool reverse) {
    return TiledDirection::apply(in, w.w_ih, w.w_hh, w.b_ih, w.b_hh, reverse, gru);
  });
}

torch::Tensor cuda_sequence_forward(torch::nn::Module& layer, const torch::Tensor& x) {
  const std::vector<torch::Tensor> y = cuda_sequence_directions(layer, x);
  return y.size() == 1 ? y[0] : torch::cat(y, 2);
}

#else

bool cuda_sequence_takes(const torch::nn::Module&, const torch::Tensor&) { return false; }

bool cuda_sequence_available(const torch::Device&) { return false; }

torch::Tensor cuda_sequence_forward(torch::nn::Module&, const torch::Tensor&) {
  throw ModelError("cuda_sequence_forward: this build has no CUDA kernels");
}

std::vector<torch::Tensor> cuda_sequence_directions(torch::nn::Module&, const torch::Tensor&) {
  throw ModelError("cuda_sequence_forward: this build has no CUDA kernels");
}

#endif

}  // namespace spikecast::models
