// `spikecast models registry ...`-style subcommands over a model registry (src/registry). The
// `models` command (owned by the model layer) calls add_registry_subcommands on itself.
#pragma once

#include <CLI/CLI.hpp>

namespace spikecast::app {

// Adds: add BUNDLE_DIR | list | show VERSION | current | promote VERSION | rollback |
//       verify VERSION | history, each with --registry DIR (default $SPIKECAST_REGISTRY or "registry").
void add_registry_subcommands(CLI::App& models_cmd);

}  // namespace spikecast::app
