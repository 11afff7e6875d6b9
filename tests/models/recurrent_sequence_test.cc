// The CPU sequence path (models/recurrent_sequence.h) against LibTorch's own LSTM and GRU modules:
// the same outputs and the same gradients for the input and every parameter, for one and two
// directions, one and two layers, with and without biases, hidden widths that are and are not a
// multiple of the vector width; and every instruction-set variant of its step kernels against the
// portable one.
#include "models/recurrent_sequence.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/recurrent_inference.h"
#include "models/recurrent_sequence_cells.h"

namespace spikecast::models {
namespace {

struct Case {
  bool gru;
  int64_t input, hidden, layers;
  bool bidirectional, bias;
};

std::string name(const Case& c) {
  return std::string(c.gru ? "gru" : "lstm") + " I=" + std::to_string(c.input) + " H=" + std::to_string(c.hidden) +
         " layers=" + std::to_string(c.layers) + (c.bidirectional ? " bi" : "") + (c.bias ? "" : " no-bias");
}

std::shared_ptr<torch::nn::Module> make(const Case& c) {
  if (c.gru)
    return torch::nn::GRU(torch::nn::GRUOptions(c.input, c.hidden)
                              .num_layers(c.layers)
                              .bidirectional(c.bidirectional)
                              .bias(c.bias)
                              .batch_first(true))
        .ptr();
  return torch::nn::LSTM(torch::nn::LSTMOptions(c.input, c.hidden)
                             .num_layers(c.layers)
                             .bidirectional(c.bidirectional)
                             .bias(c.bias)
                             .batch_first(true))
      .ptr();
}

torch::Tensor module_forward(torch::nn::Module& m, const torch::Tensor& x) {
  if (auto* lstm = dynamic_cast<torch::nn::LSTMImpl*>(&m)) return std::get<0>(lstm->forward(x));
  return std::get<0>(dynamic_cast<torch::nn::GRUImpl&>(m).forward(x));
}

// Gradients of sum(y * upstream) w.r.t. x and every parameter, in the module's parameter order.
std::vector<torch::Tensor> gradients(torch::nn::Module& m, const torch::Tensor& x, const torch::Tensor& upstream,
                                     bool ours, torch::Tensor* y_out) {
  m.zero_grad();
  torch::Tensor xg = x.clone().requires_grad_(true);
  torch::Tensor y = ours ? cpu_sequence_forward(m, xg) : module_forward(m, xg);
  (y * upstream).sum().backward();
  *y_out = y.detach();
  std::vector<torch::Tensor> out{xg.grad().clone()};
  for (const auto& p : m.parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return out;
}

TEST(RecurrentSequence, MatchesTheModuleForwardAndBackward) {
  const std::vector<Case> cases = {
      {false, 5, 16, 1, false, true}, {false, 7, 20, 1, true, true}, {false, 3, 12, 2, false, false},
      {true, 5, 16, 1, false, true},  {true, 7, 20, 1, true, true},  {true, 3, 12, 2, true, false},
  };
  torch::manual_seed(3);
  for (const Case& c : cases) {
    SCOPED_TRACE(name(c));
    auto m = make(c);
    const torch::Tensor x = torch::randn({4, 9, c.input});
    const torch::Tensor upstream = torch::randn({4, 9, (c.bidirectional ? 2 : 1) * c.hidden});
    torch::Tensor y_ours, y_ref;
    const auto ours = gradients(*m, x, upstream, true, &y_ours);
    const auto ref = gradients(*m, x, upstream, false, &y_ref);
    EXPECT_TRUE(torch::allclose(y_ours, y_ref, 1e-5, 2e-6)) << (y_ours - y_ref).abs().max().item<float>();
    ASSERT_EQ(ours.size(), ref.size());
    for (size_t i = 0; i < ours.size(); ++i)
      EXPECT_TRUE(torch::allclose(ours[i], ref[i], 1e-4, 1e-5))
          << (i == 0 ? std::string("input") : "parameter " + std::to_string(i - 1)) << ": "
          << (ours[i] - ref[i]).abs().max().item<float>();
    // Without autograd the same forward runs and keeps nothing.
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(cpu_sequence_forward(*m, x), y_ours));
  }
}

// A member's layer in training goes through this path (run_recurrent), and so do CPU batches above
// the cell kernels' in inference; SPIKECAST_CPU_SEQUENCE_KERNELS=0 would send both back to the module.
TEST(RecurrentSequence, TrainingAndLargeBatchesTakeThePath) {
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(4, 8).batch_first(true));
  lstm->train();
  EXPECT_TRUE(uses_cell_kernels(*lstm, torch::randn({32, 10, 4})));
  lstm->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(uses_cell_kernels(*lstm, torch::randn({256, 10, 4})));
  EXPECT_FALSE(cpu_sequence_takes(*lstm, torch::randn({2, 10, 4}, torch::kFloat64)));
  EXPECT_THROW(cpu_sequence_forward(*lstm, torch::randn({2, 10, 4}, torch::kFloat64)), std::exception);
}

// Every variant this CPU runs computes what the portable one does, to float32 rounding (FMA).
TEST(RecurrentSequenceCells, EveryVariantMatchesThePortableOne) {
  const int64_t batch = 3, hidden = 37;  // 37: two 16-lane passes and a scalar tail
  torch::manual_seed(5);
  const auto t = [](int64_t n) { return torch::randn({n}); };
  const torch::Tensor g4 = t(batch * 4 * hidden), g3 = t(batch * 3 * hidden), hg = t(batch * 3 * hidden);
  const torch::Tensor prev = t(batch * hidden), dy = t(batch * hidden), dh = t(batch * hidden), dc = t(batch * hidden);
  const cells::StepShape shape{batch, hidden};
  struct Out {
    torch::Tensor lstm_act, c, h, dgates, dc_prev, gru_act, gru_h, dxg, dhg, dh_prev;
  };
  const auto run = [&](cells::KernelIsa isa) {
    Out o;
    o.lstm_act = g4.clone();
    o.c = torch::empty({batch * hidden});
    o.h = torch::empty({batch * hidden});
    cells::lstm_step_forward(isa, o.lstm_act.data_ptr<float>(), prev.data_ptr<float>(), o.c.data_ptr<float>(),
                             o.h.data_ptr<float>(), shape);
    o.dgates = torch::empty({batch * 4 * hidden});
    o.dc_prev = dc.clone();
    cells::lstm_step_backward(isa, o.lstm_act.data_ptr<float>(), o.c.data_ptr<float>(), prev.data_ptr<float>(),
                              dy.data_ptr<float>(), dh.data_ptr<float>(), o.dc_prev.data_ptr<float>(),
                              o.dgates.data_ptr<float>(), shape);
    o.gru_act = g3.clone();
    o.gru_h = torch::empty({batch * hidden});
    cells::gru_step_forward(isa, o.gru_act.data_ptr<float>(), hg.data_ptr<float>(), nullptr, o.gru_h.data_ptr<float>(),
                            shape);
    o.dxg = torch::empty({batch * 3 * hidden});
    o.dhg = torch::empty({batch * 3 * hidden});
    o.dh_prev = torch::empty({batch * hidden});
    cells::gru_step_backward(isa, o.gru_act.data_ptr<float>(), hg.data_ptr<float>(), nullptr, dy.data_ptr<float>(),
                             dh.data_ptr<float>(), o.dxg.data_ptr<float>(), o.dhg.data_ptr<float>(),
                             o.dh_prev.data_ptr<float>(), shape);
    return o;
  };
  const Out base = run(cells::KernelIsa::kPortable);
  // The portable variant against the formulas written with LibTorch's own functions.
  const torch::Tensor a = g4.view({batch, 4, hidden});
  const torch::Tensor i = a.select(1, 0).sigmoid(), f = a.select(1, 1).sigmoid(), g = a.select(1, 2).tanh(),
                      o = a.select(1, 3).sigmoid();
  const torch::Tensor c = f * prev.view({batch, hidden}) + i * g;
  EXPECT_TRUE(torch::allclose(base.c, c.flatten(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(base.h, (o * c.tanh()).flatten(), 1e-5, 1e-6));
  for (cells::KernelIsa isa : {cells::KernelIsa::kAvx2, cells::KernelIsa::kAvx512}) {
    if (!cells::isa_supported(isa)) continue;
    SCOPED_TRACE(cells::to_string(isa));
    const Out v = run(isa);
    for (auto [ours, ref] : std::vector<std::pair<torch::Tensor, torch::Tensor>>{
             {v.lstm_act, base.lstm_act}, {v.c, base.c}, {v.h, base.h}, {v.dgates, base.dgates},
             {v.dc_prev, base.dc_prev}, {v.gru_act, base.gru_act}, {v.gru_h, base.gru_h}, {v.dxg, base.dxg},
             {v.dhg, base.dhg}, {v.dh_prev, base.dh_prev}})
      EXPECT_TRUE(torch::allclose(ours, ref, 1e-5, 1e-6)) << (ours - ref).abs().max().item<float>();
  }
}

}  // namespace
}  // namespace spikecast::models
