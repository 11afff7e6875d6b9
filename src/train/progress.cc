#include "train/progress.h"

#include <unistd.h>

#include <cmath>
#include <string>

namespace spikecast::train {
namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

// JSON has no NaN/Inf: write null.
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

Progress::Progress(Mode mode, std::FILE* out) : mode_(mode), out_(out) {
  if (mode_ == Mode::kAuto) mode_ = isatty(fileno(out_)) ? Mode::kBar : Mode::kJson;
}

void Progress::step(const std::string& model, int64_t epoch, int64_t epochs, int64_t step, int64_t steps,
                    double loss, double samples_per_s, double eta_s) {
  if (mode_ != Mode::kBar) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (step != steps && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int width = 24;
  const int filled = steps > 0 ? static_cast<int>(width * step / steps) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(out_, "\r%-14s epoch %3lld/%-3lld [%s] %6lld/%-6lld loss %.5f  %8.0f samples/s  ETA %5.0fs ",
               model.c_str(), static_cast<long long>(epoch), static_cast<long long>(epochs), bar.c_str(),
               static_cast<long long>(step), static_cast<long long>(steps), loss, samples_per_s, eta_s);
  std::fflush(out_);
}

void Progress::epoch_end(const EpochRecord& r) {
  if (mode_ == Mode::kQuiet) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (mode_ == Mode::kBar) {
    std::fprintf(out_, "\r%-14s epoch %3lld  train %.5f  val %.5f%s  lr %.2e  %.1fs  %.0f samples/s%20s\n",
                 r.model.c_str(), static_cast<long long>(r.epoch), r.train_loss, r.val_loss,
                 r.improved ? " *" : "  ", r.lr, r.seconds, r.samples_per_s, "");
  } else {
    std::fprintf(out_,
                 "{\"event\":\"epoch\",\"model\":\"%s\",\"epoch\":%lld,\"train_loss\":%s,\"val_loss\":%s,"
                 "\"lr\":%s,\"seconds\":%s,\"samples_per_s\":%s,\"improved\":%s}\n",
                 json_escape(r.model).c_str(), static_cast<long long>(r.epoch), num(r.train_loss).c_str(),
                 num(r.val_loss).c_str(), num(r.lr).c_str(), num(r.seconds).c_str(),
                 num(r.samples_per_s).c_str(), r.improved ? "true" : "false");
  }
  std::fflush(out_);
}

void Progress::event(const std::string& name, const std::string& message) {
  if (mode_ == Mode::kQuiet) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (mode_ == Mode::kBar) {
    std::fprintf(out_, "%s: %s\n", name.c_str(), message.c_str());
  } else {
    std::fprintf(out_, "{\"event\":\"%s\",\"message\":\"%s\"}\n", json_escape(name).c_str(),
                 json_escape(message).c_str());
  }
  std::fflush(out_);
}

}  // namespace spikecast::train
