//===- Calibrate.cpp ------------------------------------------------------===//
#include "pipeline/Calibrate.h"

#include "passes/ConstantUtils.h"
#include "pipeline/Samples.h"
#include "quantizers/Passes.h"
#include "tools/support/ToolSupport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <memory>

using ds::tools::ToolError;

namespace ds::pipeline {

namespace {

/// Running min/max of the finite values seen.
class MinMaxObserver {
public:
  void observe(const rt::Tensor &t) {
    const float *v = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::isfinite(v[i])) {
        min_ = std::min(min_, v[i]);
        max_ = std::max(max_, v[i]);
        seen_ = true;
      }
  }
  bool seen() const { return seen_; }
  std::pair<float, float> range() const { return {min_, max_}; }

private:
  float min_ = INFINITY, max_ = -INFINITY;
  bool seen_ = false;
};

} // namespace

CalibrationResult calibrate(const exec::ReferenceExecutor &fp32, const std::string &calibPath,
                            const CalibrationOptions &options, llvm::raw_ostream &log) {
  if (options.method != "minmax")
    throw ToolError("--calib-method " + options.method + " is not built yet; supported: minmax");
  if (calibPath.empty())
    throw ToolError("no calibration data: pass --calib DIR");
  CalibrationResult result;
  result.source = calibPath;
  SampleSet data = loadSamples(calibPath, fp32.inputs());

  // Which activation each candidate reads: the result of an earlier step, or a
  // graph input. Observers are per candidate (node name).
  std::map<std::string, MinMaxObserver> observers;
  std::map<mlir::Operation *, std::vector<std::pair<unsigned, std::string>>> byProducer;
  std::map<unsigned, std::vector<std::string>> byInput;
  for (mlir::Operation *op : fp32.stepOps()) {
    if (!quant::isQuantCandidate(op))
      continue;
    std::string node = passes::nodeName(op);
    observers[node];
    mlir::Value x = op->getOperand(0);
    if (auto arg = llvm::dyn_cast<mlir::BlockArgument>(x))
      byInput[arg.getArgNumber()].push_back(node);
    else
      byProducer[x.getDefiningOp()].push_back(
          {llvm::cast<mlir::OpResult>(x).getResultNumber(), node});
  }

  for (size_t i = 0; i < data.samples.size(); ++i) {
    const auto &sample = data.samples[i];
    auto [bad, tensor] = nonFinite(sample, fp32.inputs());
    if (bad) {
      if (!options.skipNonFinite)
        throw ToolError(data.files[i] + ": tensor '" + tensor + "' has " + std::to_string(bad) +
                        " NaN/Inf values; clean the data or pass --calib-nan=skip");
      ++result.skippedNonFinite;
      continue;
    }
    for (auto &[index, nodes] : byInput)
      for (const auto &node : nodes)
        observers[node].observe(sample[index]);
    fp32.run(sample, [&](mlir::Operation *op, const std::vector<rt::Tensor> &results) {
      auto it = byProducer.find(op);
      if (it == byProducer.end())
        return;
      for (auto &[resultIndex, node] : it->second)
        observers[node].observe(results[resultIndex]);
    });
    ++result.samples;
  }
  if (result.samples == 0)
    throw ToolError(calibPath + ": no usable calibration samples (" +
                    std::to_string(result.skippedNonFinite) + " skipped for NaN/Inf)");
  for (auto &[node, observer] : observers)
    if (observer.seen())
      result.ranges[node] = observer.range();
  (void)log;
  return result;
}

void annotateRanges(mlir::ModuleOp module, const CalibrationResult &result) {
  mlir::Builder b(module->getContext());
  module.walk([&](mlir::Operation *op) {
    if (!quant::isQuantCandidate(op))
      return;
    auto it = result.ranges.find(passes::nodeName(op));
    if (it != result.ranges.end())
      op->setAttr(quant::kActRangeAttr, b.getDenseF32ArrayAttr({it->second.first, it->second.second}));
  });
}

} // namespace ds::pipeline
