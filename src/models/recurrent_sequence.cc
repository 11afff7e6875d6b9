#include "models/recurrent_sequence.h"

#include <string>
#include <vector>

#include "core/error.h"
#include "models/recurrent_module.h"
#include "models/recurrent_sequence_cells.h"

namespace spikecast::models {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

float* f32(const Tensor& t) { return t.data_ptr<float>(); }

// The step order of a direction: forward t = 0 .. T-1, reverse t = T-1 .. 0. `previous(t)` is the
// step whose state t reads.
struct Steps {
  int64_t count;
  bool reverse;
  int64_t at(int64_t s) const { return reverse ? count - 1 - s : s; }
  int64_t previous(int64_t t) const { return reverse ? t + 1 : t - 1; }
};

// x [B, T, I] as time-major rows [T * B, I], the layout every product here uses.
Tensor time_major(const Tensor& x) { return x.transpose(0, 1).contiguous().view({-1, x.size(2)}); }

// dW_hh = sum over steps with a previous state of dgates_t^T h_prev(t): one product of the steps'
// gradients with the states shifted by one step. dg [T, B, G], hs [T, B, H], both time-major.
Tensor recurrent_weight_grad(const Tensor& dg, const Tensor& hs, bool reverse) {
  const int64_t t = dg.size(0), b = dg.size(1);
  if (t < 2) return torch::zeros({dg.size(2), hs.size(2)}, dg.options());
  const Tensor d = dg.narrow(0, reverse ? 0 : 1, t - 1).reshape({(t - 1) * b, dg.size(2)});
  const Tensor h = hs.narrow(0, reverse ? 1 : 0, t - 1).reshape({(t - 1) * b, hs.size(2)});
  return torch::mm(d.t(), h);
}

// The gradients w.r.t. x [B, T, I] and W_ih [G, I] from those w.r.t. the input projections
// dxp [T * B, G], into out[0] and out[1] where autograd needs them.
void input_gradients(AutogradContext* ctx, const Tensor& dxp, const Tensor& x, const Tensor& w_ih,
                     variable_list& out) {
  if (ctx->needs_input_grad(0)) out[0] = torch::mm(dxp, w_ih).view({x.size(1), x.size(0), x.size(2)}).transpose(0, 1);
  if (ctx->needs_input_grad(1)) out[1] = torch::mm(dxp.t(), time_major(x));
}

// One LSTM direction. Inputs: x [B, T, I], w_ih [4H, I], w_hh [4H, H], b [4H] (b_ih + b_hh); output
// y [B, T, H]. Kept for backward: x, the weights, the activations [T, B, 4H], c and h [T, B, H].
struct LstmDirection : torch::autograd::Function<LstmDirection> {
  struct Result {
    Tensor y, act, c, h;
  };

  static Result run(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b, bool reverse) {
    const int64_t batch = x.size(0), steps = x.size(1), hidden = w_hh.size(1);
    Result r;
    r.act = torch::addmm(b, time_major(x), w_ih.t()).view({steps, batch, 4 * hidden});
    r.c = torch::empty({steps, batch, hidden}, x.options());
    r.h = torch::empty({steps, batch, hidden}, x.options());
    const Tensor w_hh_t = w_hh.t();
    const Steps order{steps, reverse};
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = order.at(s), p = order.previous(t);
      Tensor gates = r.act[t];
      if (s > 0) gates.addmm_(r.h[p], w_hh_t);
      cells::lstm_step_forward(f32(gates), s > 0 ? f32(r.c[p]) : nullptr, f32(r.c[t]), f32(r.h[t]),
                               {batch, hidden});
    }
    r.y = r.h.transpose(0, 1).contiguous();
    return r;
  }

  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w_ih, const Tensor& w_hh,
                        const Tensor& b_ih, const Tensor& b_hh, bool reverse) {
    Result r = run(x, w_ih, w_hh, b_ih + b_hh, reverse);
    ctx->save_for_backward({x, w_ih, w_hh, r.act, r.c, r.h});
    ctx->saved_data["reverse"] = reverse;
    return r.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w_ih = saved[1], &w_hh = saved[2], &act = saved[3], &c = saved[4], &h = saved[5];
    const bool reverse = ctx->saved_data["reverse"].toBool();
    const int64_t batch = x.size(0), steps = x.size(1), hidden = w_hh.size(1);
    const Tensor dy = grad[0].transpose(0, 1).contiguous();  // [T, B, H]
    Tensor dg = torch::empty({steps, batch, 4 * hidden}, x.options());
    Tensor dh = torch::zeros({batch, hidden}, x.options()), dc = torch::zeros({batch, hidden}, x.options());
    const Steps order{steps, reverse};
    for (int64_t s = steps - 1; s >= 0; --s) {
      const int64_t t = order.at(s), p = order.previous(t);
      cells::lstm_step_backward(f32(act[t]), f32(c[t]), s > 0 ? f32(c[p]) : nullptr, f32(dy[t]), f32(dh), f32(dc),
                                f32(dg[t]), {batch, hidden});
      if (s > 0) torch::mm_out(dh, dg[t], w_hh);
    }
    const Tensor flat = dg.view({steps * batch, 4 * hidden});
    variable_list out(6);  // one per input of apply(): x, w_ih, w_hh, b_ih, b_hh, reverse
    input_gradients(ctx, flat, x, w_ih, out);
    if (ctx->needs_input_grad(2)) out[2] = recurrent_weight_grad(dg, h, reverse);
    if (ctx->needs_input_grad(3) || ctx->needs_input_grad(4)) {
      const Tensor db = flat.sum(0);
      out[3] = db;
      out[4] = db;
    }
    return out;
  }
};

// One GRU direction. Inputs as the LSTM's, with b_ih and b_hh apart (b_hh sits inside r * (...)).
// Kept for backward: x, the weights, the activations (r, z, n) [T, B, 3H], W_hh h + b_hh [T, B, 3H]
// and h [T, B, H].
struct GruDirection : torch::autograd::Function<GruDirection> {
  struct Result {
    Tensor y, act, hg, h;
  };

  static Result run(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                    bool reverse) {
    const int64_t batch = x.size(0), steps = x.size(1), hidden = w_hh.size(1);
    Result r;
    r.act = torch::addmm(b_ih, time_major(x), w_ih.t()).view({steps, batch, 3 * hidden});
    r.hg = torch::empty({steps, batch, 3 * hidden}, x.options());
    r.h = torch::empty({steps, batch, hidden}, x.options());
    const Tensor w_hh_t = w_hh.t();
    const Steps order{steps, reverse};
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = order.at(s), p = order.previous(t);
      Tensor hg = r.hg[t];
      if (s > 0) torch::addmm_out(hg, b_hh, r.h[p], w_hh_t);
      else hg.copy_(b_hh.expand({batch, 3 * hidden}));
      cells::gru_step_forward(f32(r.act[t]), f32(hg), s > 0 ? f32(r.h[p]) : nullptr, f32(r.h[t]), {batch, hidden});
    }
    r.y = r.h.transpose(0, 1).contiguous();
    return r;
  }

  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w_ih, const Tensor& w_hh,
                        const Tensor& b_ih, const Tensor& b_hh, bool reverse) {
    Result r = run(x, w_ih, w_hh, b_ih, b_hh, reverse);
    ctx->save_for_backward({x, w_ih, w_hh, r.act, r.hg, r.h});
    ctx->saved_data["reverse"] = reverse;
    return r.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const variable_list saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &w_ih = saved[1], &w_hh = saved[2], &act = saved[3], &hg = saved[4], &h = saved[5];
    const bool reverse = ctx->saved_data["reverse"].toBool();
    const int64_t batch = x.size(0), steps = x.size(1), hidden = w_hh.size(1);
    const Tensor dy = grad[0].transpose(0, 1).contiguous();  // [T, B, H]
    Tensor dxg = torch::empty({steps, batch, 3 * hidden}, x.options());
    Tensor dhg = torch::empty({steps, batch, 3 * hidden}, x.options());
    Tensor dh = torch::zeros({batch, hidden}, x.options()), dh_prev = torch::empty({batch, hidden}, x.options());
    const Steps order{steps, reverse};
    for (int64_t s = steps - 1; s >= 0; --s) {
      const int64_t t = order.at(s), p = order.previous(t);
      cells::gru_step_backward(f32(act[t]), f32(hg[t]), s > 0 ? f32(h[p]) : nullptr, f32(dy[t]), f32(dh), f32(dxg[t]),
                               f32(dhg[t]), f32(dh_prev), {batch, hidden});
      if (s > 0) torch::addmm_out(dh, dh_prev, dhg[t], w_hh);
    }
    const Tensor flat_x = dxg.view({steps * batch, 3 * hidden}), flat_h = dhg.view({steps * batch, 3 * hidden});
    variable_list out(6);  // one per input of apply(): x, w_ih, w_hh, b_ih, b_hh, reverse
    input_gradients(ctx, flat_x, x, w_ih, out);
    if (ctx->needs_input_grad(2)) out[2] = recurrent_weight_grad(dhg, h, reverse);
    if (ctx->needs_input_grad(3)) out[3] = flat_x.sum(0);
    if (ctx->needs_input_grad(4)) out[4] = flat_h.sum(0);
    return out;
  }
};

Tensor direction(const RecurrentModule& m, const Tensor& x, const DirectionWeights& w, bool reverse) {
  const bool gru = m.cell == Cell::kGru;
  if (!torch::GradMode::is_enabled()) {
    return gru ? GruDirection::run(x, w.w_ih, w.w_hh, w.b_ih, w.b_hh, reverse).y
               : LstmDirection::run(x, w.w_ih, w.w_hh, w.b_ih + w.b_hh, reverse).y;
  }
  return gru ? GruDirection::apply(x, w.w_ih, w.w_hh, w.b_ih, w.b_hh, reverse)
             : LstmDirection::apply(x, w.w_ih, w.w_hh, w.b_ih, w.b_hh, reverse);
}

}  // namespace

bool cpu_sequence_takes(const torch::nn::Module& layer, const torch::Tensor& x) {
  const RecurrentModule m = recurrent_module(layer);
  return m.options != nullptr && m.options->batch_first() && m.options->proj_size() == 0 && x.dim() == 3 &&
         x.size(0) >= 1 && x.size(1) >= 1 && x.device().is_cpu() && x.scalar_type() == torch::kFloat32;
}

torch::Tensor cpu_sequence_forward(torch::nn::Module& layer, const torch::Tensor& x) {
  if (!cpu_sequence_takes(layer, x))
    throw ModelError("cpu_sequence_forward: needs a batch_first LSTM or GRU module without projections and a "
                     "float32 CPU input [B, T, I]");
  const RecurrentModule m = recurrent_module(layer);
  return forward_by_direction(layer, m, x, [&m](const Tensor& in, const DirectionWeights& w, bool reverse) {
    return direction(m, in, w, reverse);
  });
}

}  // namespace spikecast::models
