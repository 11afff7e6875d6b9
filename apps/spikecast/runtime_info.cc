#include "runtime_info.h"

#include "core/version.h"
#include "models/recurrent_cells.h"
#include "tensor/context.h"

namespace spikecast::app {

std::string version_text() {
  return std::string("spikecast ") + SPIKECAST_VERSION + " (" + SPIKECAST_GIT_COMMIT + ")\n" +
         runtime_summary() + ", CPU cell kernels " + models::cells::to_string(models::cells::kernel_isa());
}

}  // namespace spikecast::app
