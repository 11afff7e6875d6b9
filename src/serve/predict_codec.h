// JSON <-> PredictInput/PredictOutput for POST /v1/predict. Validation errors name the field by its
// JSON path ("windows[0].rows[5].temp") and say what was expected and what was found.
//
// Request, row form (one object per time step, keyed by channel name; oldest row first):
//   {"windows": [{"rows": [{"target": 1.0, "temp": 20.5}, ...], "filled_fraction": 0.0, "id": "a"}]}
// Request, columnar form (one array of L values per channel):
//   {"windows": [{"columns": {"target": [1.0, ...], "temp": [20.5, ...]}}]}
// A single window may also be sent bare: {"rows": [...]} or {"columns": {...}}.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/error.h"
#include "serve/predictor.h"

namespace spikecast::serve {

// A request the client must fix: answered with `status` (400 unless said otherwise) and a JSON
// body {"error": message, "field": field}.
class BadRequest : public Error {
 public:
  BadRequest(std::string field, const std::string& message, int status = 400)
      : Error(field.empty() ? message : field + ": " + message), field_(std::move(field)), status_(status) {}
  const std::string& field() const { return field_; }
  int status() const { return status_; }

 private:
  std::string field_;
  int status_;
};

struct PredictLimits {
  int max_json_depth = 8;       // nesting of arrays/objects (the formats above need 4)
  int64_t max_windows = 256;    // windows per request
};

// Parses with a depth limit enforced during parsing (a deeply nested body is refused before it is
// built). BadRequest on any problem.
nlohmann::json parse_json_limited(const std::string& body, int max_depth);

// The request body -> the model's input, in the model's channel order. BadRequest on any problem.
// `ids`, when given, receives each window's optional "id" (null when absent), echoed in the answer.
PredictInput parse_predict_request(const std::string& body, const ModelInfo& info, const PredictLimits& limits,
                                   std::vector<nlohmann::json>* ids = nullptr);

// The response body. `ids` may be empty; `time_ms` is the request's wall time so far.
std::string encode_predict_response(const PredictOutput& out, const ModelInfo& info, const std::string& version,
                                    const std::vector<nlohmann::json>& ids, int64_t batch_windows, double time_ms);

}  // namespace spikecast::serve
