#include "serve/predict_codec.h"

#include <gtest/gtest.h>

#include "serve/predict_request_reader.h"

#include "linear_predictor.h"

namespace spikecast::serve {
namespace {

using nlohmann::json;

ModelInfo info3() {
  ModelInfo i;
  i.channels = {"load", "temp"};
  i.input_length = 3;
  i.horizon = 2;
  return i;
}

std::string rows_body(json rows) { return json{{"windows", json::array({json{{"rows", rows}}})}}.dump(); }

// The BadRequest message for a body, or "" when it parsed.
std::string error_of(const std::string& body, PredictLimits limits = {}) {
  try {
    parse_predict_request(body, info3(), limits);
    return "";
  } catch (const BadRequest& e) {
    return e.what();
  }
}

TEST(PredictCodec, RowsAndColumnsGiveTheSameInputInModelChannelOrder) {
  json rows = json::array({{{"temp", 10}, {"load", 1}}, {{"load", 2}, {"temp", 20}}, {{"load", 3}, {"temp", 30}}});
  PredictInput a = parse_predict_request(rows_body(rows), info3(), {});
  json cols = {{"windows", json::array({{{"columns", {{"temp", {10, 20, 30}}, {"load", {1, 2, 3}}}}}})}};
  PredictInput b = parse_predict_request(cols.dump(), info3(), {});
  const std::vector<float> expected = {1, 10, 2, 20, 3, 30};  // [L, C], channel 0 = load
  EXPECT_EQ(a.values, expected);
  EXPECT_EQ(b.values, expected);
  EXPECT_EQ(a.windows, 1);
  EXPECT_EQ(a.channels, info3().channels);
  // A bare window is one window.
  PredictInput c = parse_predict_request(json{{"rows", rows}, {"filled_fraction", 0.5}}.dump(), info3(), {});
  EXPECT_EQ(c.values, expected);
  EXPECT_FLOAT_EQ(c.filled_fraction[0], 0.5f);
}

TEST(PredictCodec, EveryBadInputNamesItsField) {
  json good_row = {{"load", 1}, {"temp", 2}};
  auto rows_with = [&](json bad_row) { return rows_body(json::array({good_row, good_row, bad_row})); };
  EXPECT_EQ(error_of(rows_with({{"load", 1}, {"temp", 2}, {"wind", 3}})),
            "windows[0].rows[2]: unknown feature 'wind' (expected: load, temp)");
  EXPECT_EQ(error_of(rows_with({{"load", 1}})),
            "windows[0].rows[2]: missing feature 'temp' (expected 2 features: load, temp)");
  EXPECT_EQ(error_of(rows_with({{"load", 1}, {"temp", "hot"}})), "windows[0].rows[2].temp: expected a number, got a string");
  EXPECT_EQ(error_of(rows_with({{"load", nullptr}, {"temp", 1}})), "windows[0].rows[2].load: expected a number, got null");
  EXPECT_EQ(error_of(rows_body(json::array({good_row, good_row}))),
            "windows[0].rows: expected 3 rows (the model's input length), got 2");
  EXPECT_NE(error_of(R"({"windows":[{"rows":[{"load":1,"temp":NaN}]}]})").find("body: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"windows":[{"rows":[{"load":1e999,"temp":1},{"load":1,"temp":1},{"load":1,"temp":1}]}]})")
                .find("number overflow parsing '1e999'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"windows":[{"rows":[{"load":1e39,"temp":1},{"load":1,"temp":1},{"load":1,"temp":1}]}]})")
                .find("is not a finite float32"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"windows": []})"), "windows: empty (expected at least one window)");
  EXPECT_EQ(error_of(R"({"windows": {}})"), "windows: expected an array of windows, got an object");
  EXPECT_EQ(error_of(R"({"foo": 1})"), "windows: missing (expected an array of windows, or one window's 'rows' or 'columns')");
  EXPECT_EQ(error_of(R"({"windows": [{"rows": []}], "extra": 1})"),
            "extra: unknown key next to 'windows' (per-window keys go inside each window)");
  EXPECT_EQ(error_of(R"({"windows": [{"rows": [], "columns": {}}]})"), "windows[0]: expected exactly one of 'rows' or 'columns'");
  EXPECT_EQ(error_of(R"({"windows": [{"columns": {"load": [1,2,3], "temp": [1,2]}}]})"),
            "windows[0].columns.temp: expected 3 values (the model's input length), got 2");
  EXPECT_EQ(error_of(R"([1, 2])"), "body: expected a JSON object, got an array");
  EXPECT_EQ(error_of(""), "body: empty (expected a JSON object)");
  PredictLimits small;
  small.max_windows = 1;
  EXPECT_EQ(error_of(json{{"windows", json::array({json{{"rows", json::array()}}, json{{"rows", json::array()}}})}}.dump(), small),
            "windows: 2 windows exceed the limit of 1 per request");
  // Nesting is refused while parsing, before a deep document is built.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(error_of(deep), "body: JSON nested deeper than 8 levels");
  EXPECT_EQ(error_of(R"({"windows":[{"rows":[{"load":[[[[[[1]]]]]]}]}]})"), "body: JSON nested deeper than 8 levels");
}

// The streaming pass against values written out by hand: rows in any key order, columns, several
// windows with ids of every scalar type, a bare window, integers, negatives and exponents.
TEST(PredictCodec, TheStreamingPassReadsEveryPlainForm) {
  const ModelInfo info = info3();
  json w0 = {{"rows", json::array({{{"load", 1}, {"temp", -10.5}}, {{"temp", 2e1}, {"load", 2}}, {{"load", 3}, {"temp", 30}}})},
             {"id", "a"}};
  json w1 = {{"columns", {{"temp", {4, 5, 6}}, {"load", {-1, 0.25, 1e-3}}}}, {"filled_fraction", 0.5}, {"id", 7}};
  json w2 = {{"id", nullptr}, {"rows", json::array({{{"load", 0}, {"temp", 0}}, {{"load", 0}, {"temp", 0}}, {{"load", 0}, {"temp", 1}}})}};
  PredictInput in;
  std::vector<json> ids;
  ASSERT_TRUE(read_predict_request(json{{"windows", {w0, w1, w2}}}.dump(), info, {}, in, &ids));
  EXPECT_EQ(in.windows, 3);
  EXPECT_EQ(in.length, 3);
  EXPECT_EQ(in.channels, info.channels);
  const std::vector<float> expected = {1, -10.5f, 2, 20, 3, 30, -1, 4, 0.25f, 5, 1e-3f, 6, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(in.values, expected);
  EXPECT_EQ(in.filled_fraction, (std::vector<float>{0, 0.5f, 0}));
  EXPECT_EQ(ids, (std::vector<json>{"a", 7, nullptr}));
  // The document path gives the same for the same body (its own test above checks its values).
  std::vector<json> ids_again;
  const PredictInput again = parse_predict_request(json{{"windows", {w0, w1, w2}}}.dump(), info, {}, &ids_again);
  EXPECT_EQ(again.values, in.values);
  EXPECT_EQ(ids_again, ids);
  PredictInput bare;
  ASSERT_TRUE(read_predict_request(w1.dump(), info, {}, bare, nullptr));
  EXPECT_EQ(bare.windows, 1);
  EXPECT_EQ(bare.values, std::vector<float>(expected.begin() + 6, expected.begin() + 12));
  EXPECT_FLOAT_EQ(bare.filled_fraction[0], 0.5f);
}

// What the streaming pass does not take goes to the document path: errors (named there), and the
// rare valid forms (a duplicate key: the last value counts; an id that is an object).
TEST(PredictCodec, TheStreamingPassLeavesTheRestToTheDocument) {
  const ModelInfo info = info3();
  PredictInput unused;
  const std::string duplicate = R"({"rows": [{"load": 1, "temp": 2, "load": 9}, {"load": 1, "temp": 2}, {"load": 1, "temp": 2}]})";
  EXPECT_FALSE(read_predict_request(duplicate, info, {}, unused, nullptr));
  EXPECT_EQ(parse_predict_request(duplicate, info, {}).values[0], 9.0f);
  const std::string object_id = R"({"windows": [{"id": {"site": 4}, "columns": {"load": [1, 2, 3], "temp": [4, 5, 6]}}]})";
  EXPECT_FALSE(read_predict_request(object_id, info, {}, unused, nullptr));
  std::vector<json> ids;
  EXPECT_EQ(parse_predict_request(object_id, info, {}, &ids).values[5], 6.0f);
  EXPECT_EQ(ids.at(0), (json{{"site", 4}}));
  const json good_row = {{"load", 1}, {"temp", 2}};
  PredictLimits one;
  one.max_windows = 1;
  for (const std::string& bad : {
           rows_body(json::array({good_row, good_row, {{"load", 1}, {"temp", 2}, {"wind", 3}}})),
           rows_body(json::array({good_row, good_row, {{"load", 1}}})),
           rows_body(json::array({good_row, good_row, {{"load", 1}, {"temp", "hot"}}})),
           rows_body(json::array({good_row, good_row})),
           rows_body(json::array({good_row, good_row, good_row, good_row})),
           std::string(R"({"windows":[{"rows":[{"load":1e39,"temp":1},{"load":1,"temp":1},{"load":1,"temp":1}]}]})"),
           std::string(R"({"windows":[{"rows":[{"load":1e999,"temp":1},{"load":1,"temp":1},{"load":1,"temp":1}]}]})"),
           std::string(R"({"windows": []})"), std::string(R"({"windows": {}})"), std::string(R"({"foo": 1})"),
           std::string(R"({"windows": [{"columns": {"load": [1,2,3], "temp": [1,2,3]}}], "extra": 1})"),
           std::string(R"({"columns": {"load": [1,2,3], "temp": [1,2,3]}, "windows": []})"),
           std::string(R"({"columns": {"load": [1,2,3], "temp": [1,2,3]}, "filled_fraction": 1.5})"),
           std::string(R"({"columns": {"load": [1,2,3], "temp": [1,2,3]}, "rows": []})"),
           std::string(R"({"columns": {"load": [1,2,3], "temp": [1,2]}})"), std::string(R"([1, 2])"),
           std::string(R"({"columns": {"load": [1,2,3], "temp": [1,2,3]}} trailing)"), std::string(""),
           json{{"windows", {json::parse(duplicate), json::parse(duplicate)}}}.dump()}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(read_predict_request(bad, info, one, unused, nullptr));
    EXPECT_NE(error_of(bad, one), "");
  }
}

TEST(PredictCodec, ResponseCarriesMembersWeightsAndIds) {
  testing::LinearPredictor p({});
  PredictInput in = make_probe_input(p.info(), 2);
  PredictOutput out = p.predict(in);
  json r = json::parse(encode_predict_response(out, p.info(), "v1", {json("a"), json()}, 2, 1.5));
  EXPECT_EQ(r["model_version"], "v1");
  EXPECT_EQ(r["horizon"], 3);
  ASSERT_EQ(r["predictions"].size(), 2u);
  EXPECT_EQ(r["predictions"][0]["id"], "a");
  EXPECT_FALSE(r["predictions"][1].contains("id"));
  EXPECT_EQ(r["predictions"][0]["members"]["trend"].size(), 3u);
  EXPECT_EQ(r["predictions"][0]["weights"]["persistence"][0], 0.25);
  EXPECT_FLOAT_EQ(r["predictions"][1]["forecast"][2].get<float>(), out.forecast[5]);
}

}  // namespace
}  // namespace spikecast::serve
