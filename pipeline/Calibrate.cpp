//===- Calibrate.cpp ------------------------------------------------------===//
#include "pipeline/Calibrate.h"

#include "calibrate/Observer.h"
#include "passes/ConstantUtils.h"
#include "pipeline/CalibrationCache.h"
#include "pipeline/Progress.h"
#include "pipeline/Samples.h"
#include "quantizers/Passes.h"
#include "tools/support/ToolSupport.h"

#include "dialects/ds/DsDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "codegen/runtime/kernels/Gemm.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <memory>

using ds::tools::ToolError;

namespace ds::pipeline {

namespace {

/// Min/max per channel of the last axis (SmoothQuant needs per-input-channel
/// magnitudes of MatMul activations).
class ChannelObserver {
public:
  void observe(const rt::Tensor &t) {
    if (t.rank() < 1 || t.numel() == 0)
      return;
    int64_t k = t.shape().back();
    if (min_.empty()) {
      min_.assign(static_cast<size_t>(k), INFINITY);
      max_.assign(static_cast<size_t>(k), -INFINITY);
    }
    if (static_cast<int64_t>(min_.size()) != k)
      return; // the channel count changed between samples: not a per-channel quantity
    const float *v = t.data<float>();
    for (int64_t r = 0; r < t.numel() / k; ++r)
      for (int64_t c = 0; c < k; ++c) {
        float x = v[r * k + c];
        if (std::isfinite(x)) {
          min_[static_cast<size_t>(c)] = std::min(min_[static_cast<size_t>(c)], x);
          max_[static_cast<size_t>(c)] = std::max(max_[static_cast<size_t>(c)], x);
        }
      }
  }
  const std::vector<float> &min() const { return min_; }
  const std::vector<float> &max() const { return max_; }

private:
  std::vector<float> min_, max_;
};

/// sum += X^T X for X = t viewed as [rows, K] (the GEMM kernel, K x K float).
void accumulateHessian(std::pair<rt::Tensor, int64_t> &sum, const rt::Tensor &t) {
  int64_t k = t.shape().back(), rows = t.numel() / k;
  if (sum.first.isAbsent())
    sum.first = rt::Tensor(rt::DType::F32, {k, k});
  if (sum.first.dim(0) != k)
    return;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.data<float>()[i]))
      return; // a NaN would poison every entry
  rt::gemmF32(/*transA=*/true, false, k, k, rows, 1.0f, t.data<float>(), k, t.data<float>(), k, 1.0f,
              sum.first.mutableData<float>(), k, {}, nullptr);
  sum.second += rows;
}

} // namespace

/// Runs the model over the calibration set (no cache).
static CalibrationResult run(const exec::ReferenceExecutor &fp32, const std::string &calibPath,
                             const CalibrationOptions &options, llvm::raw_ostream &log);

CalibrationResult calibrate(const exec::ReferenceExecutor &fp32, const std::string &calibPath,
                            const CalibrationOptions &options, llvm::raw_ostream &log) {
  try {
    calib::makeObserver(calib::parseMethod(options.method), {options.percentile});
  } catch (const rt::Error &e) {
    throw ToolError(e.what());
  }
  std::string why;
  CalibrationKey key;
  if (!options.cachePath.empty())
    key = calibrationKey(options.modelPath, calibPath, options);
  if (!options.cachePath.empty() && !options.hessians)
    if (auto cached = readCalibrationCache(options.cachePath, key, why))
      return *cached;
  if (calibPath.empty())
    throw ToolError("no calibration data: pass --calib DIR" +
                    (options.cachePath.empty() ? std::string() : " (" + options.cachePath + ": " + why + ")"));
  if (!options.cachePath.empty())
    log << "      calibration cache " << options.cachePath << ": " << why << "; calibrating\n";
  CalibrationResult result = run(fp32, calibPath, options, log);
  if (!options.cachePath.empty())
    writeCalibrationCache(options.cachePath, result, key);
  return result;
}

static CalibrationResult run(const exec::ReferenceExecutor &fp32, const std::string &calibPath,
                             const CalibrationOptions &options, llvm::raw_ostream &log) {
  CalibrationResult result;
  result.source = calibPath;
  SampleSet data = loadSamples(calibPath, fp32.inputs());

  // Which activation each candidate reads: the result of an earlier step, or a
  // graph input. Observers are per candidate (node name).
  std::map<std::string, std::unique_ptr<calib::Observer>> observers;
  calib::Method method = calib::parseMethod(options.method);
  std::map<std::string, ChannelObserver> channels; // MatMul/Gemm candidates
  std::map<std::string, std::pair<rt::Tensor, int64_t>> hessians; // sum of X^T X, rows
  std::map<mlir::Operation *, std::vector<std::pair<unsigned, std::string>>> byProducer;
  std::map<unsigned, std::vector<std::string>> byInput;
  for (mlir::Operation *op : fp32.stepOps()) {
    if (!quant::isQuantCandidate(op))
      continue;
    std::string node = passes::nodeName(op);
    observers[node] = calib::makeObserver(method, {options.percentile});
    if (!llvm::isa<ds::ConvOp>(op))
      channels[node];
    mlir::Value x = op->getOperand(0);
    if (auto arg = llvm::dyn_cast<mlir::BlockArgument>(x))
      byInput[arg.getArgNumber()].push_back(node);
    else
      byProducer[x.getDefiningOp()].push_back(
          {llvm::cast<mlir::OpResult>(x).getResultNumber(), node});
  }

  Progress progress = Progress::on(log, "calibrate", static_cast<int64_t>(data.samples.size()));
  for (size_t i = 0; i < data.samples.size(); ++i) {
    const auto &sample = data.samples[i];
    auto [bad, tensor] = nonFinite(sample, fp32.inputs());
    if (bad) {
      if (!options.skipNonFinite)
        throw ToolError(data.files[i] + ": tensor '" + tensor + "' has " + std::to_string(bad) +
                        " NaN/Inf values; clean the data or pass --calib-nan=skip");
      ++result.skippedNonFinite;
      progress.step();
      continue;
    }
    auto observe = [&](const std::string &node, const rt::Tensor &t) {
      if (t.dtype() != rt::DType::F32)
        return;
      observers[node]->observe(t);
      if (auto it = channels.find(node); it != channels.end()) {
        it->second.observe(t);
        if (options.hessians && t.rank() >= 1 && t.numel() > 0)
          accumulateHessian(hessians[node], t);
      }
    };
    for (auto &[index, nodes] : byInput)
      for (const auto &node : nodes)
        observe(node, sample[index]);
    fp32.run(sample, [&](mlir::Operation *op, const std::vector<rt::Tensor> &results) {
      auto it = byProducer.find(op);
      if (it == byProducer.end())
        return;
      for (auto &[resultIndex, node] : it->second)
        observe(node, results[resultIndex]);
    });
    ++result.samples;
    progress.step();
  }
  if (result.samples == 0)
    throw ToolError(calibPath + ": no usable calibration samples (" +
                    std::to_string(result.skippedNonFinite) + " skipped for NaN/Inf)");
  for (auto &[node, observer] : observers)
    if (observer->count()) {
      calib::Range r = observer->range();
      result.ranges[node] = {r.min, r.max};
    }
  for (auto &[node, observer] : channels)
    if (!observer.min().empty() && result.ranges.count(node))
      result.channelRanges[node] = {observer.min(), observer.max()};
  for (auto &[node, sum] : hessians)
    if (sum.second > 0) {
      rt::Tensor h = sum.first;
      float *d = h.mutableData<float>();
      for (int64_t i = 0; i < h.numel(); ++i)
        d[i] /= static_cast<float>(sum.second);
      result.hessians[node] = h;
    }
  return result;
}

void annotateRanges(mlir::ModuleOp module, const CalibrationResult &result) {
  mlir::Builder b(module->getContext());
  module.walk([&](mlir::Operation *op) {
    if (!quant::isQuantCandidate(op))
      return;
    std::string node = passes::nodeName(op);
    auto it = result.ranges.find(node);
    if (it != result.ranges.end())
      op->setAttr(quant::kActRangeAttr, b.getDenseF32ArrayAttr({it->second.first, it->second.second}));
    if (auto h = result.hessians.find(node); h != result.hessians.end()) {
      auto type = mlir::RankedTensorType::get(h->second.shape(), b.getF32Type());
      llvm::ArrayRef<char> bytes(static_cast<const char *>(h->second.rawData()), h->second.byteSize());
      op->setAttr(quant::kActHessianAttr,
                  mlir::DenseResourceElementsAttr::get(
                      type, node + ".hessian",
                      mlir::HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64)));
    }
    auto ch = result.channelRanges.find(node);
    if (ch != result.channelRanges.end()) {
      auto input = op->getNumOperands() ? mlir::dyn_cast<mlir::RankedTensorType>(op->getOperand(0).getType())
                                        : mlir::RankedTensorType();
      if (input && input.getRank() >= 1 && !input.isDynamicDim(input.getRank() - 1) &&
          static_cast<int64_t>(ch->second.first.size()) != input.getShape().back())
        throw ToolError((result.cacheFile.empty() ? std::string("calibration") : result.cacheFile) +
                        ": tensor '" + node + "' has " + std::to_string(ch->second.first.size()) +
                        " channel ranges, its input has " + std::to_string(input.getShape().back()) +
                        " channels; delete the cache to recalibrate");
      op->setAttr(quant::kActChannelMinAttr, b.getDenseF32ArrayAttr(ch->second.first));
      op->setAttr(quant::kActChannelMaxAttr, b.getDenseF32ArrayAttr(ch->second.second));
    }
  });
}

} // namespace ds::pipeline
