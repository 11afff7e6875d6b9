// Has the newest value been seen in this context before? The series is quantised into a few levels
// (bins fixed at the end of a learning period from its range, so a value beyond that range is a
// level of its own), and a memory of contexts counts which level followed each run of the last
// 1..order levels. The surprise of a value is how badly the contexts before it predicted it:
// -ln of the smoothed share of its level among what followed each context, taken over the orders
// whose context has been seen (the largest one: a well-established context followed by something
// new is the most surprising). A pattern that repeats is learned and predicted; a level or a
// transition never seen after a context seen many times stands out.
//
// The idea is that of the Contextual Anomaly Detector (CAD OSE, M. Smirnov, 2016; NAB's
// nab/detectors/context_ose): quantised values, a memory of left/right contexts, and an anomaly
// score from the share of predicted contexts not confirmed and of contexts never seen. This is a
// simpler variable-order context model (a count per context and per context-and-level, as in
// prediction by partial matching), written from that description, with bins set causally.
//
// The memory is bounded: when it holds more than max_entries contexts and (context, level) counts,
// every count is halved and the ones that reach 0 are dropped, until at most half of max_entries
// remain (the count halving of PPM implementations and of lossy counting): rare contexts go first,
// established ones keep their shares.
//
// With `rarity_on_entry`, order 0 (how rare the level is overall) speaks only when the series
// jumps into a level: not at every row it stays in one, nor when it extends the learned range by
// one level from the level next to it. A series that wanders into a rarely visited range or drifts
// beyond it (a random walk, a trend) is then not counted again and again (nor twice with `range`,
// which judges new highs and lows), while the contexts ending in the previous levels still judge
// each step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace spikecast::detect {

// A causal estimate of a series' slow trend, for the context novelty to read the value less it
// (session 13): kind 0, none (x unchanged); kind 1, an exponentially weighted level (weight
// 1/min(rows seen, window)); kind 2, the median of the last `window` finite values; kind 3, the mean
// of their central half (between the quartiles). detrend(x) returns x less the estimate from the
// rows before it (0 for the first row), then learns x; a NaN passes through unlearned. Causal.
class CausalTrend {
 public:
  CausalTrend(int64_t kind, int64_t window);
  double detrend(double x);
  bool enabled() const { return kind_ != 0; }

 private:
  int64_t kind_;
  size_t window_;
  int64_t seen_ = 0;
  double level_ = 0.0;
  std::vector<double> ring_;    // kinds 2, 3: the last window_ values, oldest at head_
  size_t head_ = 0;
  std::vector<double> sorted_;  // kinds 2, 3: the same values, sorted
};

class ContextNovelty {
 public:
  // levels: bins over the learning period's range; order: longest context (levels before the
  // newest); learn_rows: the learning period, after which the bins are fixed and the values seen so
  // far are replayed into the memory. scored_orders: 0 every order speaks; 1 order 0 only; 2 the
  // orders >= 1 only (each memory still learns every order up to `order`).
  ContextNovelty(int64_t levels, int64_t order, int64_t learn_rows, int64_t max_entries = 1 << 17,
                 bool rarity_on_entry = true, int scored_orders = 0);

  // Appends x (NaN = a missing row: contexts restart after it) and returns the surprise of its
  // level given the contexts before it (>= 0), NaN while the bins are not set or for a NaN row.
  double update(double x);

  int64_t level_of(double x) const;  // after the bins are set
  bool ready() const { return width_ > 0.0; }
  // Contexts and (context, level) counts held (their sum is at most max_entries).
  int64_t contexts() const { return static_cast<int64_t>(contexts_.size()); }
  int64_t entries() const { return entries_; }

 private:
  void fix_bins();
  double observe(int64_t level, bool score);  // surprise of `level`, then learns it
  void prune();                               // halves every count until entries_ <= max_entries_ / 2
  static uint64_t mix(uint64_t h, uint64_t v);

  struct Context {
    uint32_t count = 0;                                // times seen
    std::vector<std::pair<int64_t, uint32_t>> follows; // (level, times followed by it)
  };

  int64_t levels_;
  size_t order_;
  int64_t learn_rows_;
  int64_t max_entries_;
  bool rarity_on_entry_;
  int scored_orders_;  // 0: every order; 1: order 0 only; 2: orders >= 1 only
  int64_t entries_ = 0;  // contexts_.size() + the follows of every context
  double low_ = 0.0, width_ = 0.0;
  std::vector<double> pending_;      // values of the learning period (NaN kept)
  std::vector<int64_t> recent_;      // the newest levels, at most order_, oldest first
  std::unordered_map<uint64_t, Context> contexts_;  // hash(context of k levels, k) -> its counts
};

}  // namespace spikecast::detect
