#include "serve/metrics.h"

#include <gtest/gtest.h>

namespace spikecast::serve {
namespace {

TEST(Metrics, RendersPrometheusTextWithCumulativeBuckets) {
  Metrics m;
  m.observe_request("predict", 200, 0.003);
  m.observe_request("predict", 200, 0.2);
  m.observe_request("predict", 400, 0.001);
  m.observe_batch(5, 0.01);
  m.set_model_version("000001-abcdef12");
  m.count_reload(true);
  m.count_reload(false);
  const std::string text = m.render();
  EXPECT_NE(text.find("spikecast_http_requests_total{route=\"predict\",status=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_http_requests_total{route=\"predict\",status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_http_request_duration_seconds_bucket{route=\"predict\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_http_request_duration_seconds_bucket{route=\"predict\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_http_request_duration_seconds_count{route=\"predict\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_batch_windows_bucket{le=\"4\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_batch_windows_bucket{le=\"8\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_model_info{version=\"000001-abcdef12\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("spikecast_model_reloads_total{result=\"failure\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE spikecast_batch_windows histogram\n"), std::string::npos);
}

}  // namespace
}  // namespace spikecast::serve
