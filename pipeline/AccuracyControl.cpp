//===- AccuracyControl.cpp - sensitivity-ranked FP32 fallback ------------------===//
#include "pipeline/AccuracyControl.h"

#include "pipeline/Progress.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace ds::pipeline {

double agreementCost(const Verification &v) {
  if (v.outputs.empty())
    return 0.0;
  const OutputAgreement &out = v.outputs[0];
  return out.rows ? out.meanKl : 1.0 - out.cosine;
}

AccuracyControlResult controlAccuracy(const Verification &allInt8, const AccuracyTarget &target,
                                      const QuantTrial &trial, llvm::raw_ostream &log) {
  AccuracyControlResult result;
  result.verification = allInt8;
  std::vector<std::string> layers;
  for (const auto &layer : allInt8.layers)
    layers.push_back(layer.node);
  result.met = target.metBy(allInt8);
  if (layers.empty() || result.met)
    return result;

  // Rank: each layer alone in INT8.
  struct Ranked {
    std::string node;
    double cost;
  };
  std::vector<Ranked> ranked;
  Progress rankProgress = Progress::on(log, "rank layers", static_cast<int64_t>(layers.size()));
  for (const auto &node : layers) {
    std::vector<std::string> others;
    for (const auto &other : layers)
      if (other != node)
        others.push_back(other);
    ranked.push_back({node, agreementCost(trial(others))});
    ++result.trials;
    rankProgress.step();
  }
  // Stable, and ties keep graph order: the same inputs give the same artifact.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked &a, const Ranked &b) { return a.cost > b.cost; });
  log << "      accuracy control: ranked " << layers.size()
      << " INT8 layers by their cost alone; costliest '" << ranked.front().node << "' ("
      << llvm::format("%.3g", ranked.front().cost) << ")\n";

  // Return layers to FP32, costliest first, until the target holds.
  for (const auto &layer : ranked) {
    result.fp32Layers.push_back(layer.node);
    result.verification = trial(result.fp32Layers);
    ++result.trials;
    log << "      " << result.fp32Layers.size() << " in FP32 (+'" << layer.node << "'): cost "
        << llvm::format("%.4g", agreementCost(result.verification));
    if (!result.verification.outputs.empty() && result.verification.outputs[0].rows)
      log << ", top-1 " << llvm::format("%.4f", result.verification.outputs[0].top1Agreement);
    log << "\n";
    log.flush();
    if (target.metBy(result.verification)) {
      result.met = true;
      break;
    }
  }
  log << "      accuracy control: " << result.fp32Layers.size() << " of " << layers.size()
      << " layers back in FP32 after " << result.trials << " trials; the target is "
      << (result.met ? "met" : "still missed") << "\n";
  return result;
}

} // namespace ds::pipeline
