#include "command.h"

namespace spikecast::app {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      demo_command(),
      data_command(),
      train_command(),
      evaluate_command(),
      report_command(),
      serve_command(),
      score_command(),
      models_command(),
      detect_command(),
      ingest_command(),
      retrain_command(),
      bench_command(),
      plan_command(),
  };
  return kCommands;
}

}  // namespace spikecast::app
