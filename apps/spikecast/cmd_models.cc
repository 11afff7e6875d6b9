// `spikecast models <subcommand>`: the models known to this build. Subcommands live in a small
// table so the bundle registry's list/show/promote/rollback can be added beside `describe`.
//   spikecast models describe [--features 12] [-L 100] [-H 1] [--json]
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "registry_subcommands.h"
#include "core/error.h"
#include "models/dynamic_ensemble.h"
#include "models/model_registry.h"

namespace spikecast::app {
namespace {

struct ModelsSubcommand {
  const char* name;
  const char* help;
  std::function<void(CLI::App& sub)> setup;
};

// The users' own parameter estimates for their shape (12 features + target, L = 100, H = 1).
const char* users_estimate(const std::string& name) {
  if (name == "lstm") return "~340K";
  if (name == "gru") return "~280K";
  if (name == "cnn_lstm") return "~450K";
  if (name == "spike") return "~520K";
  if (name == "rule") return "~85K";
  if (name == "users_five") return "~1.67M";
  return "";
}

// "torch::nn::LSTMImpl" -> "LSTM", "spikecast::models::ForecastFrameImpl" -> "ForecastFrame".
std::string short_type(const torch::nn::Module& m) {
  std::string n = m.name();
  if (auto p = n.rfind("::"); p != std::string::npos) n = n.substr(p + 2);
  if (n.size() > 4 && n.compare(n.size() - 4, 4, "Impl") == 0) n.resize(n.size() - 4);
  return n;
}

nlohmann::json describe_model(const std::string& label, const std::string& name, const models::ModelSpec& spec) {
  nlohmann::json j = {{"name", label}, {"architecture", name}, {"users_estimate", users_estimate(label)}};
  models::Forecaster m;
  try {
    m = models::make_forecaster(name, spec);
  } catch (const ConfigError& e) {
    j["error"] = e.what();
    return j;
  }
  const int64_t params = models::count_parameters(*m);
  j["parameters"] = params;
  j["bytes_fp32"] = params * 4;
  j["options"] = m->options_json();
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& child : m->named_children()) {
    nlohmann::json layer = {{"name", child.key()}, {"type", short_type(*child.value())},
                            {"parameters", models::count_parameters(*child.value())}};
    layers.push_back(layer);
  }
  // Parameters registered directly on the model (PatchTST positions, the ensemble's static logits).
  for (const auto& p : m->named_parameters(/*recurse=*/false))
    layers.push_back({{"name", p.key()}, {"type", "Parameter"}, {"parameters", p.value().numel()}});
  j["layers"] = layers;
  return j;
}

std::string human_bytes(int64_t bytes) {
  if (bytes >= (1 << 20)) return fmt::format("{:.2f} MiB", bytes / 1048576.0);
  return fmt::format("{:.1f} KiB", bytes / 1024.0);
}

std::string thousands(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

struct DescribeOptions {
  int64_t features = 12;
  int64_t input_length = 100;
  int64_t horizon = 1;
  bool json = false;
};

void run_describe(const DescribeOptions& o) {
  if (o.features < 0) throw ConfigError("--features", "must be >= 0, got " + std::to_string(o.features));
  const models::ModelSpec base{o.input_length, o.horizon, o.features + 1, nlohmann::json::object()};
  std::vector<nlohmann::json> rows;
  for (const std::string& name : models::forecaster_names()) rows.push_back(describe_model(name, name, base));
  // The users' own ensemble: their five members and the gate.
  models::ModelSpec five = base;
  five.options = {{"members", models::user_member_names()}};
  rows.push_back(describe_model("users_five", "ensemble", five));

  if (o.json) {
    std::cout << nlohmann::json({{"input_length", o.input_length}, {"horizon", o.horizon},
                                 {"channels", o.features + 1}, {"models", rows}})
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << fmt::format("Models for {} input channels (target + {} features), L = {}, H = {}\n\n",
                           o.features + 1, o.features, o.input_length, o.horizon);
  std::cout << fmt::format("{:<16} {:>12} {:>12} {:>10}\n", "model", "parameters", "fp32", "users' est.");
  for (const auto& r : rows) {
    if (r.contains("error")) {
      std::cout << fmt::format("{:<16} not buildable for this shape: {}\n", r["name"].get<std::string>(),
                               r["error"].get<std::string>());
      continue;
    }
    std::cout << fmt::format("{:<16} {:>12} {:>12} {:>10}\n", r["name"].get<std::string>(),
                             thousands(r["parameters"].get<int64_t>()), human_bytes(r["bytes_fp32"].get<int64_t>()),
                             r["users_estimate"].get<std::string>());
    for (const auto& l : r["layers"])
      std::cout << fmt::format("    {:<22} {:<24} {:>10}\n", l["name"].get<std::string>(), l["type"].get<std::string>(),
                               thousands(l["parameters"].get<int64_t>()));
  }
  std::cout << "\n'users_five' is the ensemble of the users' five members (lstm, gru, cnn_lstm, spike, rule) and\n"
               "its gate; 'ensemble' is the default ensemble, which adds linear and repeat_last.\n";
}

std::vector<ModelsSubcommand> models_subcommands() {
  return {
      {"describe", "print each model's layers, parameter count and fp32 size",
       [](CLI::App& sub) {
         auto o = std::make_shared<DescribeOptions>();
         sub.add_option("--features", o->features, "number of feature channels besides the target (default 12)");
         sub.add_option("-L,--input-length", o->input_length, "input window length L (default 100)");
         sub.add_option("-H,--horizon", o->horizon, "forecast horizon H (default 1)");
         sub.add_flag("--json", o->json, "print JSON instead of a table");
         sub.callback([o] { run_describe(*o); });
       }},
  };
}

}  // namespace

Command models_command() {
  return {"models", "model architectures (describe) and the versioned model registry (list, show, promote, rollback)",
          [](CLI::App& sub, CommonOptions&) {
            sub.require_subcommand(1);
            for (const auto& s : models_subcommands()) s.setup(*sub.add_subcommand(s.name, s.help));
            add_registry_subcommands(sub);
          }};
}

}  // namespace spikecast::app
