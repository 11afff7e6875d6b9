// The fast path of POST /v1/predict's request parsing: one streaming pass (nlohmann's SAX
// interface) that writes each number straight into the model's input, without building a JSON
// document. It takes the request formats of predict_codec.h as clients send them; anything else (an
// error of any kind, a duplicate key, an "id" that is an object or an array) it leaves to
// parse_predict_request's document path, which takes the rare valid forms and names the field of
// every error. Both paths give the same input for a request both take (tests/serve/predict_codec_test.cc).
// Measured on 2 CPU cores with a linear model: one-window HTTP p50 1.08 -> 0.54 ms (docs/benchmarks.md).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "serve/predict_codec.h"
#include "serve/predictor.h"

namespace spikecast::serve {

// Fills `in` (and `ids`, when given: each window's "id", null when absent) and returns true for a
// plain, valid request; returns false, with `in` and `ids` as they were, for anything else.
bool read_predict_request(const std::string& body, const ModelInfo& info, const PredictLimits& limits,
                          PredictInput& in, std::vector<nlohmann::json>* ids);

}  // namespace spikecast::serve
