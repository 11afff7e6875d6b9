#include "score/bundle_scorer.h"

#include "core/error.h"
#include "core/sha256.h"
#include "models/model_bundle.h"
#include "serve/bundle_predictor.h"

namespace spikecast::score {

std::string bundle_fingerprint(const std::string& bundle_dir) {
  try {
    return sha256_file_hex(bundle_dir + "/manifest.json");
  } catch (const Error& e) {
    throw ModelError("bundle '" + bundle_dir + "': " + e.what());
  }
}

ScoreReport score_with_bundle(const std::string& bundle_dir, const ScoreOptions& options) {
  options.validate();
  const models::BundleManifest manifest = models::read_manifest(bundle_dir);
  const DataConfig data = data_config_from_settings(manifest.extra, bundle_dir);
  const std::string fingerprint = bundle_fingerprint(bundle_dir);
  serve::BundlePredictorOptions po;
  po.device = options.device;
  po.precision = options.precision;
  po.spike_threshold = options.spike_threshold;
  if (options.cuda_graphs) po.graph_batches = {options.batch};  // the last, short batch is padded
  std::unique_ptr<serve::Predictor> predictor = serve::make_bundle_predictor(bundle_dir, po);
  // The manifest read above must be the one loaded: a bundle replaced in between is refused.
  if (bundle_fingerprint(bundle_dir) != fingerprint)
    throw ModelError("bundle '" + bundle_dir + "' changed while it was being loaded; run again");
  return score_csv(*predictor, data, fingerprint, options);
}

}  // namespace spikecast::score
