#include "serve/model_host.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "registry/bundle_check.h"

namespace spikecast::serve {

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

ModelHost::ModelHost(ModelHostOptions options, PredictorFactory factory, Metrics* metrics)
    : options_(std::move(options)), factory_(std::move(factory)), metrics_(metrics) {
  if (options_.registry_root.empty() == options_.bundle_dir.empty())
    throw ConfigError("serve.registry", "give exactly one of a registry directory or a model bundle directory");
  if (!factory_) throw ConfigError("serve.factory", "no predictor factory");
  if (!options_.registry_root.empty()) registry_.emplace(options_.registry_root);
}

ModelHost::~ModelHost() { stop_watching(); }

void ModelHost::log(const std::string& line) const {
  if (options_.log) options_.log(line);
  else std::cerr << "spikecast serve: " << line << std::endl;
}

std::shared_ptr<const LoadedModel> ModelHost::current() const {
  std::lock_guard<std::mutex> lock(live_mu_);
  return live_;
}

std::shared_ptr<const LoadedModel> ModelHost::prepare(const std::string& version, const std::string& bundle_dir) {
  try {
    verify_bundle(bundle_dir);
    std::unique_ptr<Predictor> p = factory_(bundle_dir);
    if (!p) throw ModelError("model bundle '" + bundle_dir + "': the predictor factory returned nothing");
    auto model = std::make_shared<LoadedModel>();
    model->info = p->info();
    model->predictor = std::move(p);
    model->version = version;
    model->bundle_dir = bundle_dir;
    const ModelInfo& info = model->info;
    if (info.channels.empty() || info.input_length <= 0 || info.horizon <= 0)
      throw ModelError("model bundle '" + bundle_dir + "': the predictor reports no channels, L or H");
    // Probe at batch 1 and at the largest batch, then warm both sizes.
    const int64_t big = std::max<int64_t>(1, options_.warmup_windows);
    for (int64_t windows : {int64_t{1}, big}) {
      PredictInput probe = make_probe_input(info, windows);
      for (int run = 0; run < std::max(1, options_.warmup_runs); ++run) {
        PredictOutput out = model->predictor->predict(probe);
        try {
          check_output(info, probe, out);
        } catch (const ModelError& e) {
          throw ModelError("model bundle '" + bundle_dir + "' failed its probe: " + e.what());
        }
        if (big == 1) break;
      }
    }
    model->loaded_at = utc_now();
    return model;
  } catch (const ModelError&) {
    if (metrics_) metrics_->count_reload(false);
    throw;
  } catch (const std::exception& e) {
    if (metrics_) metrics_->count_reload(false);
    throw ModelError("model bundle '" + bundle_dir + "' could not be loaded: " + e.what());
  }
}

void ModelHost::activate(std::shared_ptr<const LoadedModel> model) {
  const std::string version = model->version;
  {
    std::lock_guard<std::mutex> lock(live_mu_);
    live_.swap(model);  // `model` now holds the old one, released when the last request drops it
  }
  if (metrics_) {
    metrics_->count_reload(true);
    metrics_->set_model_version(version);
  }
  log("model " + version + " is live" + (model ? " (was " + model->version + ")" : ""));
}

std::string ModelHost::fixed_version() const {
  const std::string sha = verify_bundle(options_.bundle_dir).weights_sha256;
  std::string name = std::filesystem::path(options_.bundle_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(options_.bundle_dir).lexically_normal().parent_path().filename().string();
  return name + "@" + sha.substr(0, 8);
}

bool ModelHost::load_current() {
  std::lock_guard<std::mutex> lock(load_mu_);
  if (!registry_) {
    activate(prepare(fixed_version(), options_.bundle_dir));
    return true;
  }
  auto version = registry_->current();
  if (!version) return false;
  activate(prepare(*version, registry_->version_dir(*version)));
  failed_version_.clear();
  return true;
}

std::shared_ptr<const LoadedModel> ModelHost::promote(const std::string& version) {
  if (!registry_) throw ModelError("promote needs a registry (the server was started with a fixed bundle)");
  std::lock_guard<std::mutex> lock(load_mu_);
  auto model = prepare(version, registry_->version_dir(version));
  registry_->promote(version);
  activate(model);
  return model;
}

std::shared_ptr<const LoadedModel> ModelHost::rollback() {
  if (!registry_) throw ModelError("rollback needs a registry (the server was started with a fixed bundle)");
  std::lock_guard<std::mutex> lock(load_mu_);
  auto target = registry_->previous();
  if (!target) throw ModelError("registry '" + registry_->root() + "': nothing to roll back to");
  auto model = prepare(*target, registry_->version_dir(*target));
  const std::string now = registry_->rollback();
  if (now != *target) throw ModelError("registry changed during rollback (now at " + now + "); not swapped");
  activate(model);
  return model;
}

bool ModelHost::poll() {
  if (!registry_) return false;
  std::lock_guard<std::mutex> lock(load_mu_);
  std::optional<std::string> version;
  try {
    version = registry_->current();
  } catch (const std::exception& e) {
    log(std::string("cannot read the registry pointer: ") + e.what());
    return false;
  }
  if (!version) return false;
  auto live = current();
  if (live && live->version == *version) return false;
  if (*version == failed_version_) return false;
  try {
    activate(prepare(*version, registry_->version_dir(*version)));
    failed_version_.clear();
    return true;
  } catch (const std::exception& e) {
    failed_version_ = *version;
    log("refused version " + *version + ", still serving " + (live ? live->version : "nothing") + ": " + e.what());
    return false;
  }
}

void ModelHost::start_watching(int64_t interval_ms) {
  if (!registry_ || interval_ms <= 0 || watcher_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = false;
  }
  watcher_ = std::thread([this, interval_ms] {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, std::chrono::milliseconds(interval_ms), [this] { return watch_stop_; })) {
      lock.unlock();
      poll();
      lock.lock();
    }
  });
}

void ModelHost::stop_watching() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace spikecast::serve
