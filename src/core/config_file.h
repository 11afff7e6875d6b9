// Reads a TOML configuration file over the defaults. Unknown tables and keys are errors naming the
// dotted key; a wrong type names the key and the expected type. toml++ is included only in the .cc.
#pragma once

#include <string>

#include "core/config.h"

namespace spikecast {

// Applies the file's values on top of `config` (which holds defaults or earlier values).
void apply_config_file(const std::string& path, Config& config);

// Same, from TOML text; `origin` names the source in error messages.
void apply_config_text(const std::string& text, const std::string& origin, Config& config);

}  // namespace spikecast
