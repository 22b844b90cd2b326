//===- Report.cpp ---------------------------------------------------------===//
#include "pipeline/Report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace ds::pipeline {

namespace {
/// Numbers in the report: finite values as they are, non-finite as null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string escapeHtml(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v))
    return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string general(double v) {
  if (!std::isfinite(v))
    return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
} // namespace

nlohmann::json reportJson(const ReportData &d) {
  using nlohmann::json;
  json j;
  j["format"] = "ds-report";
  j["version"] = 1;
  j["model"] = {{"file", d.modelFile}, {"sha256", d.modelSha256}};
  j["profile"] = d.profile;
  j["precision"] = d.precision;
  if (!d.calibMethod.empty())
    j["calibration"] = {{"method", d.calibMethod},
                        {"source", d.calibSource},
                        {"samples", d.calibSamples},
                        {"skipped_non_finite_samples", d.calibSkippedNonFinite}};
  j["size"] = {{"weight_bytes_fp32", d.weightBytesBefore},
               {"weight_bytes_artifact", d.weightBytesAfter},
               {"ratio", number(d.weightBytesBefore ? double(d.weightBytesAfter) / double(d.weightBytesBefore) : 0)}};
  json acc;
  acc["eval_source"] = d.evalSource;
  acc["samples"] = d.verification.samples;
  json outs = json::array();
  for (const auto &o : d.verification.outputs)
    outs.push_back({{"name", o.name},
                    {"max_abs_error", number(o.maxAbsError)},
                    {"max_rel_error", number(o.maxRelError)},
                    {"cosine", number(o.cosine)},
                    {"rows", o.rows},
                    {"top1_agreement", number(o.top1Agreement)},
                    {"mean_kl_nats", number(o.meanKl)}});
  acc["outputs"] = outs;
  if (d.verification.task)
    acc["task"] = {{"metric", d.verification.task->name},
                   {"teacher", number(d.verification.task->teacher)},
                   {"student", number(d.verification.task->student)},
                   {"count", d.verification.task->count}};
  acc["target"] = {{"max_drop_percent", d.maxDropPercent ? number(*d.maxDropPercent) : json()},
                   {"max_mean_kl_nats", d.maxMeanKl ? number(*d.maxMeanKl) : json()},
                   {"min_top1_agreement", d.minTop1 ? number(*d.minTop1) : json()},
                   {"drop_percent", d.dropPercent ? number(*d.dropPercent) : json()},
                   {"drop_metric", d.dropMetric},
                   {"passed", d.passed}};
  if (d.accuracyControlTrials)
    acc["target"]["accuracy_control_trials"] = *d.accuracyControlTrials;
  j["accuracy"] = acc;
  std::map<std::string, const LayerError *> errors;
  for (const auto &e : d.verification.layers)
    errors[e.node] = &e;
  json layers = json::array();
  for (const auto &l : d.layers) {
    json entry = {{"node", l.node}, {"op", l.op}, {"precision", l.precision}};
    if (!l.reason.empty())
      entry["fp32_reason"] = l.reason;
    if (auto it = errors.find(l.node); it != errors.end())
      entry["error"] = {{"rel_l2", number(it->second->relError)},
                        {"cosine", number(it->second->cosine)},
                        {"compared_with", it->second->replaces}};
    layers.push_back(entry);
  }
  j["layers"] = layers;
  json fusions = json::array();
  for (const auto &f : d.fusions)
    fusions.push_back({{"fusion", f.name}, {"fused", f.fused}, {"anchor", f.anchor},
                       {"anchors_left_unfused", f.unfused}});
  j["fusions"] = fusions;
  return j;
}

std::string reportHtml(const ReportData &d) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    << "<title>ds-optimize report: " << escapeHtml(d.modelFile) << "</title>\n"
    << "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
       "text-align:left}th{background:#f4f4f4}.bad{color:#b00}.ok{color:#070}"
       "svg text{font:11px system-ui,sans-serif}</style></head><body>\n";
  h << "<h1>" << escapeHtml(d.modelFile) << " &rarr; " << escapeHtml(d.profile) << " / "
    << escapeHtml(d.precision) << "</h1>\n";
  std::vector<std::string> targets;
  if (d.maxDropPercent)
    targets.push_back("max drop " + general(*d.maxDropPercent) + "% of " + d.dropMetric + ", measured " +
                      (d.dropPercent ? general(*d.dropPercent) + "%" : "n/a"));
  if (d.maxMeanKl && !d.verification.outputs.empty())
    targets.push_back("max KL " + general(*d.maxMeanKl) + " nats, measured " +
                      general(d.verification.outputs[0].meanKl));
  if (d.minTop1 && !d.verification.outputs.empty())
    targets.push_back("min top-1 agreement " + general(*d.minTop1) + ", measured " +
                      general(d.verification.outputs[0].top1Agreement));
  std::string targetText = targets.empty() ? "none set" : targets[0];
  for (size_t i = 1; i < targets.size(); ++i)
    targetText += "; " + targets[i];
  if (!targets.empty())
    targetText += d.passed ? " (met)" : " (MISSED)";
  if (d.accuracyControlTrials)
    targetText += "; --accuracy-control ran " + std::to_string(*d.accuracyControlTrials) + " trials";
  h << "<p class=\"" << (d.passed ? "ok" : "bad") << "\">Accuracy target: " << escapeHtml(targetText)
    << "</p>\n";

  h << "<h2>Metrics vs the FP32 teacher</h2>\n<p>" << d.verification.samples
    << " evaluation samples from " << escapeHtml(d.evalSource) << ".</p>\n<table><tr><th>metric</th>"
    << "<th>value</th></tr>\n";
  if (d.verification.task) {
    const auto &t = *d.verification.task;
    h << "<tr><td>" << escapeHtml(t.name) << " (teacher)</td><td>" << general(t.teacher) << "</td></tr>\n"
      << "<tr><td>" << escapeHtml(t.name) << " (student)</td><td>" << general(t.student) << "</td></tr>\n";
  }
  for (const auto &o : d.verification.outputs) {
    std::string n = escapeHtml(o.name);
    h << "<tr><td>" << n << ": max abs error</td><td>" << general(o.maxAbsError) << "</td></tr>\n"
      << "<tr><td>" << n << ": max error / output scale</td><td>" << general(o.maxRelError) << "</td></tr>\n"
      << "<tr><td>" << n << ": cosine</td><td>" << fixed(o.cosine, 6) << "</td></tr>\n";
    if (o.rows)
      h << "<tr><td>" << n << ": top-1 agreement</td><td>" << fixed(100 * o.top1Agreement, 2) << "%</td></tr>\n"
        << "<tr><td>" << n << ": mean KL(teacher&#8214;student)</td><td>" << general(o.meanKl)
        << " nats</td></tr>\n";
  }
  h << "<tr><td>weights (FP32 &rarr; artifact)</td><td>" << d.weightBytesBefore << " &rarr; "
    << d.weightBytesAfter << " bytes</td></tr>\n";
  if (!d.calibMethod.empty())
    h << "<tr><td>calibration</td><td>" << escapeHtml(d.calibMethod) << ", " << d.calibSamples
      << " samples from " << escapeHtml(d.calibSource) << "</td></tr>\n";
  h << "</table>\n";

  // Per-layer error as a horizontal bar chart (inline SVG, no scripts).
  const auto &errs = d.verification.layers;
  if (!errs.empty()) {
    double maxErr = 0;
    for (const auto &e : errs)
      maxErr = std::max(maxErr, std::isfinite(e.relError) ? e.relError : 0.0);
    int rowH = 18, labelW = 260, barW = 360, height = rowH * static_cast<int>(errs.size()) + 24;
    h << "<h2>Per-layer quantization error</h2>\n<p>Relative L2 error of each INT8 layer's output "
         "against the FP32 model's value at the same node (errors accumulate along the graph).</p>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << labelW + barW + 80 << "\" height=\""
      << height << "\" role=\"img\" aria-label=\"per-layer relative error\">\n";
    for (size_t i = 0; i < errs.size(); ++i) {
      double v = std::isfinite(errs[i].relError) ? errs[i].relError : 0.0;
      int w = maxErr > 0 ? static_cast<int>(std::lround(barW * v / maxErr)) : 0;
      int y = static_cast<int>(i) * rowH + 4;
      h << "<text x=\"" << labelW - 6 << "\" y=\"" << y + 12 << "\" text-anchor=\"end\">"
        << escapeHtml(errs[i].node) << "</text><rect x=\"" << labelW << "\" y=\"" << y
        << "\" width=\"" << std::max(w, 1) << "\" height=\"" << rowH - 4
        << "\" fill=\"#4a7ebb\"/><text x=\"" << labelW + std::max(w, 1) + 4 << "\" y=\"" << y + 12
        << "\">" << general(v) << "</text>\n";
    }
    h << "</svg>\n";
  }

  h << "<h2>Layers</h2>\n<table><tr><th>node</th><th>op</th><th>precision</th><th>why FP32</th></tr>\n";
  for (const auto &l : d.layers)
    h << "<tr><td>" << escapeHtml(l.node) << "</td><td>" << escapeHtml(l.op) << "</td><td>"
      << escapeHtml(l.precision) << "</td><td>" << escapeHtml(l.reason) << "</td></tr>\n";
  h << "</table>\n</body></html>\n";
  return h.str();
}

} // namespace ds::pipeline
