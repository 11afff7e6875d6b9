#include "registry_subcommands.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/model_registry.h"

namespace spikecast::app {

namespace {

struct RegistryFlags {
  std::string root;
  std::string arg;  // bundle dir or version
  bool json = false;
};

std::string default_root() {
  const char* env = std::getenv("SPIKECAST_REGISTRY");
  return env ? env : "registry";
}

nlohmann::json version_json(const VersionInfo& v) {
  return {{"version", v.version},   {"path", v.path},     {"weights_sha256", v.weights_sha256},
          {"added_at", v.added_at}, {"source", v.source}, {"is_current", v.is_current},
          {"extra", v.extra}};
}

// One line of metrics for `list`: the extra.metrics object, compact.
std::string metrics_summary(const VersionInfo& v) {
  if (!v.extra.contains("metrics")) return "";
  return v.extra["metrics"].dump();
}

using Action = void (*)(const RegistryFlags&);

void add(CLI::App& parent, const char* name, const char* help, const char* positional, const char* positional_help,
         Action action) {
  auto f = std::make_shared<RegistryFlags>();
  f->root = default_root();
  CLI::App* cmd = parent.add_subcommand(name, help);
  cmd->add_option("--registry", f->root, "registry directory ($SPIKECAST_REGISTRY)")->capture_default_str();
  if (positional) cmd->add_option(positional, f->arg, positional_help)->required();
  cmd->add_flag("--json", f->json, "print JSON");
  cmd->callback([f, action] { action(*f); });
}

}  // namespace

void add_registry_subcommands(CLI::App& models_cmd) {
  add(models_cmd, "add", "copy a bundle into the registry (verifies its checksum); prints the new version",
      "bundle", "bundle directory (weights.safetensors + manifest.json)", [](const RegistryFlags& f) {
        const std::string v = ModelRegistry(f.root).add(f.arg);
        if (f.json) std::printf("%s\n", nlohmann::json{{"version", v}}.dump().c_str());
        else std::printf("%s\n", v.c_str());
      });
  add(models_cmd, "list", "list the registry's versions, oldest first (* = current)", nullptr, nullptr,
      [](const RegistryFlags& f) {
        const auto versions = ModelRegistry(f.root).list();
        if (f.json) {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& v : versions) a.push_back(version_json(v));
          std::printf("%s\n", a.dump(2).c_str());
          return;
        }
        for (const auto& v : versions)
          std::printf("%s %s  %s  %s\n", v.is_current ? "*" : " ", v.version.c_str(), v.added_at.c_str(),
                      metrics_summary(v).c_str());
      });
  add(models_cmd, "show", "a version's metrics, data lineage and checksum", "version", "registry version",
      [](const RegistryFlags& f) { std::printf("%s\n", version_json(ModelRegistry(f.root).show(f.arg)).dump(2).c_str()); });
  add(models_cmd, "current", "print the current version", nullptr, nullptr, [](const RegistryFlags& f) {
    auto v = ModelRegistry(f.root).current();
    if (f.json) std::printf("%s\n", nlohmann::json{{"version", v ? nlohmann::json(*v) : nlohmann::json()}}.dump().c_str());
    else std::printf("%s\n", v ? v->c_str() : "(none)");
  });
  add(models_cmd, "promote", "verify a version and make it current (servers pick it up)", "version",
      "registry version", [](const RegistryFlags& f) {
        ModelRegistry reg(f.root);
        const auto before = reg.current();
        reg.promote(f.arg);
        std::printf("current: %s (was %s)\n", f.arg.c_str(), before ? before->c_str() : "none");
      });
  add(models_cmd, "rollback", "make the previous current version current again", nullptr, nullptr,
      [](const RegistryFlags& f) {
        ModelRegistry reg(f.root);
        const auto before = reg.current();
        const std::string now = reg.rollback();
        std::printf("current: %s (was %s)\n", now.c_str(), before ? before->c_str() : "none");
      });
  add(models_cmd, "verify", "re-check a stored version's checksum and manifest", "version", "registry version",
      [](const RegistryFlags& f) {
        ModelRegistry(f.root).verify(f.arg);
        std::printf("%s: ok\n", f.arg.c_str());
      });
  add(models_cmd, "history", "promotions and rollbacks, oldest first", nullptr, nullptr, [](const RegistryFlags& f) {
    for (const auto& h : ModelRegistry(f.root).history())
      std::printf("%s %-8s %s%s\n", h.time.c_str(), h.action.c_str(), h.version.c_str(),
                  h.from.empty() ? "" : (" (from " + h.from + ")").c_str());
  });
}

}  // namespace spikecast::app
