// The users' dense head: Linear -> ReLU (-> Dropout) per hidden width, then Linear to the output.
//   [B, in] -> [B, out]
#pragma once

#include <torch/torch.h>

#include <vector>

namespace spikecast::models {

struct DenseHeadOptions {
  DenseHeadOptions(int64_t in, std::vector<int64_t> hidden, int64_t out) : in(in), hidden(std::move(hidden)), out(out) {}
  int64_t in;                   // input width
  std::vector<int64_t> hidden;  // hidden widths, e.g. {128, 64}
  int64_t out;                  // output width (H for a value head, 1 for a logit)
  double dropout = 0.0;         // after each hidden ReLU
};

class DenseHeadImpl : public torch::nn::Module {
 public:
  explicit DenseHeadImpl(const DenseHeadOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // [B, in] -> [B, out]

 private:
  torch::nn::Sequential layers_;
};
TORCH_MODULE(DenseHead);

}  // namespace spikecast::models
