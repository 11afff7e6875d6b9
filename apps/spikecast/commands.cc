#include "command.h"

namespace spikecast::app {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
  };
  return kCommands;
}

}  // namespace spikecast::app
