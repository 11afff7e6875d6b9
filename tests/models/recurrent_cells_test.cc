// The CPU cell kernels' instruction-set variants (portable, AVX2 + FMA, AVX-512): every variant this
// CPU runs against a float64 reference of the same recurrence and against the portable variant, and
// the dispatch (which variant the entry points run) against the CPU's flags as Linux reports them.
#include "models/recurrent_cells.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace spikecast::models::cells {
namespace {

const KernelIsa kAllIsas[] = {KernelIsa::kPortable, KernelIsa::kAvx2, KernelIsa::kAvx512};

// One sequence's inputs, random: xp [T, G], whh_t [H, G], bhh [G] (G = 4H for the LSTM, 3H for the GRU).
struct Sequence {
  bool gru = false;
  RecurrentShape shape;
  std::vector<float> xp, whh_t, bhh;
  int64_t gates() const { return (gru ? 3 : 4) * shape.hidden; }
};

Sequence make_sequence(bool gru, int64_t hidden, int64_t steps, unsigned seed) {
  Sequence s;
  s.gru = gru;
  s.shape = {steps, hidden};
  std::mt19937 rng(seed);
  // Weights of a trained layer's size (|w| up to 1/sqrt(H), as LibTorch initialises them) and
  // projections large enough to reach the saturated ends of sigmoid and tanh.
  std::uniform_real_distribution<float> w(-1.0f / std::sqrt(static_cast<float>(hidden)), 1.0f / std::sqrt(static_cast<float>(hidden)));
  std::uniform_real_distribution<float> x(-4.0f, 4.0f);
  const int64_t g = s.gates();
  for (int64_t i = 0; i < steps * g; ++i) s.xp.push_back(x(rng));
  for (int64_t i = 0; i < hidden * g; ++i) s.whh_t.push_back(w(rng));
  for (int64_t i = 0; i < g; ++i) s.bhh.push_back(w(rng));
  return s;
}

// The kernel's output, written with a stride wider than H; the columns it must not touch hold a
// sentinel, checked here.
constexpr float kSentinel = 12345.0f;

std::vector<float> run(const Sequence& s, bool reverse, const KernelIsa* isa) {
  const int64_t hidden = s.shape.hidden, stride = 2 * hidden + 3;
  std::vector<float> out(static_cast<size_t>(s.shape.steps * stride), kSentinel);
  if (s.gru) {
    if (isa)
      gru_sequence(*isa, s.xp.data(), s.whh_t.data(), s.bhh.data(), s.shape, reverse, out.data(), stride);
    else
      gru_sequence(s.xp.data(), s.whh_t.data(), s.bhh.data(), s.shape, reverse, out.data(), stride);
  } else {
    if (isa)
      lstm_sequence(*isa, s.xp.data(), s.whh_t.data(), s.shape, reverse, out.data(), stride);
    else
      lstm_sequence(s.xp.data(), s.whh_t.data(), s.shape, reverse, out.data(), stride);
  }
  std::vector<float> h;
  for (int64_t t = 0; t < s.shape.steps; ++t)
    for (int64_t j = 0; j < stride; ++j) {
      const float v = out[static_cast<size_t>(t * stride + j)];
      if (j < hidden)
        h.push_back(v);
      else
        EXPECT_EQ(v, kSentinel) << "wrote outside the output at step " << t << ", column " << j;
    }
  return h;  // [T, H]
}

double sigmoid64(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The same recurrence in float64 with the exact functions: [T, H].
std::vector<double> reference(const Sequence& s, bool reverse) {
  const int64_t hn = s.shape.hidden, g = s.gates(), steps = s.shape.steps;
  std::vector<double> h(static_cast<size_t>(hn), 0.0), c(h), a(static_cast<size_t>(g)), out(static_cast<size_t>(steps * hn));
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t t = reverse ? steps - 1 - i : i;
    for (int64_t j = 0; j < g; ++j) {  // W_hh h (+ b_hh for the GRU, whose xp holds b_ih only)
      double acc = s.gru ? s.bhh[static_cast<size_t>(j)] : 0.0;
      for (int64_t k = 0; k < hn; ++k) acc += h[static_cast<size_t>(k)] * s.whh_t[static_cast<size_t>(k * g + j)];
      a[static_cast<size_t>(j)] = acc;
    }
    const float* x = s.xp.data() + t * g;
    for (int64_t k = 0; k < hn; ++k) {
      const auto at = [&](int64_t gate) { return static_cast<size_t>(gate * hn + k); };
      if (s.gru) {
        const double r = sigmoid64(x[at(0)] + a[at(0)]), z = sigmoid64(x[at(1)] + a[at(1)]);
        const double n = std::tanh(x[at(2)] + r * a[at(2)]);
        h[static_cast<size_t>(k)] = (1.0 - z) * n + z * h[static_cast<size_t>(k)];
      } else {
        const double i_ = sigmoid64(x[at(0)] + a[at(0)]), f = sigmoid64(x[at(1)] + a[at(1)]);
        const double gg = std::tanh(x[at(2)] + a[at(2)]), o = sigmoid64(x[at(3)] + a[at(3)]);
        c[static_cast<size_t>(k)] = f * c[static_cast<size_t>(k)] + i_ * gg;
        h[static_cast<size_t>(k)] = o * std::tanh(c[static_cast<size_t>(k)]);
      }
    }
    for (int64_t k = 0; k < hn; ++k) out[static_cast<size_t>(t * hn + k)] = h[static_cast<size_t>(k)];
  }
  return out;
}

template <typename A, typename B>
double max_abs_diff(const std::vector<A>& a, const std::vector<B>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return worst;
}

// Hidden widths: the members' (32, 64, 128), and ones that leave partial vectors and a partial
// block of packed weights (1, 5, 13, 100).
const int64_t kHiddens[] = {1, 5, 13, 32, 64, 100, 128};

TEST(RecurrentCellVariants, EveryVariantThisCpuRunsMatchesTheReferenceAndThePortableOne) {
  int variants = 0;
  for (KernelIsa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    ++variants;
    for (bool gru : {false, true})
      for (int64_t hidden : kHiddens)
        for (bool reverse : {false, true}) {
          SCOPED_TRACE(std::string(to_string(isa)) + (gru ? " gru" : " lstm") + " H=" + std::to_string(hidden) +
                       (reverse ? " reverse" : ""));
          const Sequence s = make_sequence(gru, hidden, 60, static_cast<unsigned>(hidden * 4 + gru * 2 + reverse));
          const KernelIsa portable = KernelIsa::kPortable;
          const std::vector<float> got = run(s, reverse, &isa);
          EXPECT_LT(max_abs_diff(got, reference(s, reverse)), 1e-5);
          EXPECT_LT(max_abs_diff(got, run(s, reverse, &portable)), 1e-5);
        }
  }
  EXPECT_GE(variants, 1);
  std::printf("cell kernel variants run here: %d (entry points use %s)\n", variants, to_string(kernel_isa()));
}

TEST(RecurrentCellVariants, EntryPointsRunTheVariantKernelIsaNames) {
  const KernelIsa chosen = kernel_isa();
  ASSERT_TRUE(isa_supported(chosen));
  for (bool gru : {false, true}) {
    const Sequence s = make_sequence(gru, 128, 40, 7);
    const std::vector<float> via_entry = run(s, false, nullptr), via_variant = run(s, false, &chosen);
    ASSERT_EQ(via_entry.size(), via_variant.size());
    EXPECT_EQ(std::memcmp(via_entry.data(), via_variant.data(), via_entry.size() * sizeof(float)), 0)
        << (gru ? "gru" : "lstm") << ": the entry point's output differs from " << to_string(chosen) << "'s";
  }
}

// The flags the kernel reports for this CPU ("flags" in /proc/cpuinfo; Linux leaves out the AVX and
// AVX-512 flags when it does not save those registers); empty where there is no such file.
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return {};
}

TEST(RecurrentCellVariants, TheBestVariantTheCpuHasIsChosen) {
  if (std::getenv("SPIKECAST_CELL_KERNELS_ISA")) GTEST_SKIP() << "SPIKECAST_CELL_KERNELS_ISA chooses the variant";
  const std::set<std::string> flags = cpu_flags();
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags";
  const auto has = [&](const char* f) { return flags.count(f) > 0; };
  KernelIsa expected = KernelIsa::kPortable;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)  // as recurrent_cells.cc
  if (has("avx2") && has("fma")) expected = KernelIsa::kAvx2;
  if (expected == KernelIsa::kAvx2 && has("avx512f") && has("avx512vl")) expected = KernelIsa::kAvx512;
#endif
  EXPECT_STREQ(to_string(kernel_isa()), to_string(expected));
  for (KernelIsa isa : kAllIsas) {
    const bool runs_here = isa == KernelIsa::kPortable || (isa == KernelIsa::kAvx2 && expected != KernelIsa::kPortable) ||
                           (isa == KernelIsa::kAvx512 && expected == KernelIsa::kAvx512);
    EXPECT_EQ(isa_supported(isa), runs_here) << to_string(isa);
  }
}

TEST(RecurrentCellVariants, AVariantTheCpuLacksIsRefused) {
  const Sequence s = make_sequence(false, 8, 3, 1);
  std::vector<float> out(static_cast<size_t>(3 * 8));
  int refused = 0;
  for (KernelIsa isa : kAllIsas) {
    if (isa_supported(isa)) continue;
    ++refused;
    EXPECT_THROW(lstm_sequence(isa, s.xp.data(), s.whh_t.data(), s.shape, false, out.data(), 8), std::invalid_argument);
  }
  if (refused == 0) GTEST_SKIP() << "this CPU runs every variant";
}

// The variants are really compiled apart: on x86-64 the baseline has no fused multiply-add, the
// AVX2 and AVX-512 variants do, so after 40 steps of a 128-wide layer their outputs differ in the
// last bits (a dispatch that ran the portable code for every name would give identical outputs).
TEST(RecurrentCellVariants, FusedVariantsAreNotThePortableCode) {
  const Sequence s = make_sequence(false, 128, 40, 11);
  const KernelIsa portable = KernelIsa::kPortable;
  const std::vector<float> base = run(s, false, &portable);
  int compared = 0;
  for (KernelIsa isa : {KernelIsa::kAvx2, KernelIsa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    ++compared;
    const std::vector<float> fused = run(s, false, &isa);
    EXPECT_NE(std::memcmp(base.data(), fused.data(), base.size() * sizeof(float)), 0) << to_string(isa);
  }
  if (compared == 0) GTEST_SKIP() << "no fused variant on this CPU";
}

}  // namespace
}  // namespace spikecast::models::cells
