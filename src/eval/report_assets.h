// The chart library embedded into the HTML report, generated at build time from report/node_modules
// (see src/eval/CMakeLists.txt and report/package.json). Each array ends with a NUL not counted in
// its size.
#pragma once

#include <cstddef>
#include <string_view>

namespace spikecast::report_assets {

extern const unsigned char kUplotJs[];
extern const std::size_t kUplotJsSize;
extern const unsigned char kUplotCss[];
extern const std::size_t kUplotCssSize;

inline std::string_view uplot_js() {
  return {reinterpret_cast<const char*>(kUplotJs), kUplotJsSize};
}
inline std::string_view uplot_css() {
  return {reinterpret_cast<const char*>(kUplotCss), kUplotCssSize};
}

}  // namespace spikecast::report_assets
