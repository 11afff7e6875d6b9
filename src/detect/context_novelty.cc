#include "detect/context_novelty.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace spikecast::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

CausalTrend::CausalTrend(int64_t kind, int64_t window)
    : kind_(kind), window_(static_cast<size_t>(std::max<int64_t>(window, 1))) {}

double CausalTrend::detrend(double x) {
  if (kind_ == 0 || !std::isfinite(x)) return x;
  double estimate = x;
  if (kind_ == 1) {
    if (seen_ > 0) estimate = level_;
    ++seen_;
    level_ += (x - level_) / static_cast<double>(std::min<int64_t>(seen_, static_cast<int64_t>(window_)));
  } else {
    const size_t n = sorted_.size();
    if (n > 0 && kind_ == 2) estimate = n % 2 == 1 ? sorted_[n / 2] : 0.5 * (sorted_[n / 2 - 1] + sorted_[n / 2]);
    if (n > 0 && kind_ == 3) {
      // The mean of the central half (between the quartiles): robust to spikes like the median,
      // but moving smoothly where the median would jump between the modes of a multi-level series.
      const size_t a = n / 4, b = std::max(n - n / 4, a + 1);
      double sum = 0.0;
      for (size_t i = a; i < b; ++i) sum += sorted_[i];
      estimate = sum / static_cast<double>(b - a);
    }
    if (ring_.size() == window_) {
      const double old = ring_[head_];
      sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), old));
      ring_[head_] = x;
      head_ = (head_ + 1) % window_;
    } else {
      ring_.push_back(x);
    }
    sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), x), x);
  }
  return x - estimate;
}

ContextNovelty::ContextNovelty(int64_t levels, int64_t order, int64_t learn_rows, int64_t max_entries,
                               bool rarity_on_entry, int scored_orders)
    : levels_(levels),
      order_(static_cast<size_t>(order)),
      learn_rows_(std::max<int64_t>(learn_rows, 16)),
      max_entries_(std::max<int64_t>(max_entries, 4 * (order + 1))),
      rarity_on_entry_(rarity_on_entry),
      scored_orders_(scored_orders) {}

uint64_t ContextNovelty::mix(uint64_t h, uint64_t v) {
  // splitmix64's finaliser over the running hash and the next value: a context of k levels is a
  // chain of k mixes.
  uint64_t z = h + 0x9e3779b97f4a7c15ULL + v * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t ContextNovelty::level_of(double x) const {
  // Levels outside [0, levels) are values beyond the learning period's range, each a level of its own.
  return static_cast<int64_t>(std::clamp(std::floor((x - low_) / width_), -1e15, 1e15));
}

void ContextNovelty::fix_bins() {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, abs_sum = 0.0;
  int64_t n = 0;
  for (double v : pending_) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    abs_sum += std::fabs(v);
    ++n;
  }
  if (n == 0) return;  // nothing finite yet: try again at the next value
  // The top of the range falls inside the last level; a flat period gets a width of a millionth of
  // its magnitude, so any departure from it is a new level.
  low_ = lo;
  width_ = std::max({(hi - lo) / static_cast<double>(levels_) * (1.0 + 1e-9),
                     1e-6 * abs_sum / static_cast<double>(n), 1e-300});
  std::vector<double> replay;
  replay.swap(pending_);
  for (double v : replay) {
    if (std::isfinite(v)) {
      observe(level_of(v), false);
    } else {
      recent_.clear();
    }
  }
}

double ContextNovelty::observe(int64_t level, bool score) {
  // Contexts of 0..order_ levels before this one (order 0: the level's overall frequency). After a
  // context seen c times, c_s of them followed by `level`, its share is (c_s + 0.5) / (c + 0.5):
  // 1 (no surprise) for the level that has always followed it, 0.5 / (c + 0.5) for a new one
  // after a context seen c times, 0.5 / (rows + 0.5) for a level never seen at all.
  double surprise = 0.0;
  uint64_t h = 0;
  const size_t k_max = recent_.size();
  // A level's overall rarity (order 0) is evidence when the series jumps into it, not again at
  // every row it stays there, nor when it extends the learned range by one level from the level
  // next to it (a drift: `range` already judges how unusual a new high or low is). Then only the
  // contexts that end in the previous levels speak.
  const bool outside = level < 0 || level >= levels_;
  const bool rarity_skipped = rarity_on_entry_ && k_max > 0 &&
                              (recent_.back() == level || (outside && std::llabs(recent_.back() - level) == 1));
  for (size_t k = 0; k <= k_max; ++k) {
    if (k > 0) h = mix(h, static_cast<uint64_t>(recent_[k_max - k]));
    auto [it, inserted] = contexts_.try_emplace(mix(h, static_cast<uint64_t>(k)));
    Context& ctx = it->second;
    if (inserted) ++entries_;
    auto f = std::find_if(ctx.follows.begin(), ctx.follows.end(), [&](const auto& e) { return e.first == level; });
    const double c = ctx.count, c_s = f == ctx.follows.end() ? 0.0 : f->second;
    const bool scored = scored_orders_ == 0 || (scored_orders_ == 1 ? k == 0 : k > 0);
    if (score && scored && ctx.count > 0 && !(k == 0 && rarity_skipped)) {
      const double share = (c_s + 0.5) / (c + 0.5);
      surprise = std::max(surprise, -std::log(share));
    }
    ++ctx.count;
    if (f == ctx.follows.end()) {
      ctx.follows.emplace_back(level, 1);
      ++entries_;
    } else {
      ++f->second;
    }
  }
  recent_.push_back(level);
  if (recent_.size() > order_) recent_.erase(recent_.begin());
  if (entries_ > max_entries_) prune();
  return surprise;
}

void ContextNovelty::prune() {
  while (entries_ > max_entries_ / 2) {
    entries_ = 0;
    for (auto it = contexts_.begin(); it != contexts_.end();) {
      Context& ctx = it->second;
      uint32_t count = 0;
      auto& fs = ctx.follows;
      for (auto& e : fs) count += (e.second /= 2);
      fs.erase(std::remove_if(fs.begin(), fs.end(), [](const auto& e) { return e.second == 0; }), fs.end());
      ctx.count = count;  // every observation of a context is one of its follows
      if (count == 0) {
        it = contexts_.erase(it);
      } else {
        fs.shrink_to_fit();
        entries_ += 1 + static_cast<int64_t>(fs.size());
        ++it;
      }
    }
  }
}

double ContextNovelty::update(double x) {
  if (!ready()) {
    pending_.push_back(x);
    if (static_cast<int64_t>(pending_.size()) >= learn_rows_) fix_bins();
    return kNaN;
  }
  if (!std::isfinite(x)) {
    recent_.clear();
    return kNaN;
  }
  return observe(level_of(x), true);
}

}  // namespace spikecast::detect
