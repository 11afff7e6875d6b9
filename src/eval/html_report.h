// One self-contained HTML page (chart library, styles, data and script inline; works offline) from a
// report document. The document's JSON schema is docs/report.md.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace spikecast {

// The page. Tables are rendered here (HTML-escaped); charts are drawn in the browser by the embedded
// uPlot from the document, which is embedded as JSON with '<', '>' and '&' escaped so no string in
// it can close the <script> element. Once drawn, the page sets document.body.dataset.chartsDrawn
// to the number of charts drawn, and dataset.chartErrors when any failed.
// Throws spikecast::Error naming the field when a present field has the wrong type or length.
std::string render_report(const nlohmann::json& doc);

// Number of charts render_report's page draws for `doc` (one per section with data:
// training curves, forecast vs actual, ensemble weights). Also on <body data-charts-expected>.
int count_report_charts(const nlohmann::json& doc);

// render_report(doc) written to `path`. Throws spikecast::Error when the file cannot be written.
void write_report(const nlohmann::json& doc, const std::string& path);

}  // namespace spikecast
