// spikecast: one binary, subcommands from a table (command.h). The only place where exceptions
// become one clear line on stderr and a non-zero exit code.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "core/error.h"
#include "core/host_allocator.h"
#include "core/version.h"
#include "runtime_info.h"

int main(int argc, char** argv) {
  using namespace spikecast;
  tune_host_allocator();
  CLI::App app{"spikecast: multivariate time-series forecasting and spike detection", "spikecast"};
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", [] { return app::version_text(); });
  app::CommonOptions common;
  for (const app::Command& cmd : app::commands()) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.help);
    cmd.setup(*sub, common);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  } catch (const Error& e) {
    std::fprintf(stderr, "spikecast: error: %s\n", e.what());
    return static_cast<int>(e.exit_code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "spikecast: error: out of memory\n");
    return static_cast<int>(ExitCode::kFailure);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spikecast: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::kFailure);
  }
  return 0;
}
