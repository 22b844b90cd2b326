//===- Verify.cpp ---------------------------------------------------------===//
#include "pipeline/Verify.h"

#include "passes/ConstantUtils.h"
#include "pipeline/Progress.h"
#include "quantizers/Passes.h"
#include "tools/support/ToolSupport.h"

#include "ds/runtime/numerics/Half.h"

#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

namespace ds::pipeline {

namespace {

/// True when the model looks like an LM over token ids: input 0 is int64
/// [B, T] and output 0 is float [B, T, V].
bool isTokenLm(const exec::ReferenceExecutor &e) {
  if (e.inputs().empty() || e.outputs().empty())
    return false;
  const auto &in = e.inputs()[0], &out = e.outputs()[0];
  bool floatOut = out.dtype == rt::DType::F32 || out.dtype == rt::DType::F16 ||
                  out.dtype == rt::DType::BF16;
  return in.dtype == rt::DType::I64 && in.ranked && in.dims.size() == 2 && floatOut &&
         out.ranked && out.dims.size() == 3;
}

/// An output as float32 for the agreement metrics: float16/bfloat16 (a half
/// model's interface) widened exactly, integer and bool outputs (ids, masks)
/// by value, so that no output is left out of the comparison.
rt::Tensor comparable(const rt::Tensor &t) {
  if (t.dtype() == rt::DType::F32 || t.isAbsent() || t.dtype() == rt::DType::String ||
      t.dtype() == rt::DType::Undefined)
    return t;
  rt::Tensor out = rt::Tensor::uninitialized(rt::DType::F32, t.shape());
  float *f = out.mutableData<float>();
  if (t.dtype() == rt::DType::F16 || t.dtype() == rt::DType::BF16) {
    const auto *bits = static_cast<const uint16_t *>(t.rawData());
    for (int64_t i = 0; i < t.numel(); ++i)
      f[i] = t.dtype() == rt::DType::F16 ? rt::numerics::halfToFloat(bits[i])
                                         : rt::numerics::bf16ToFloat(bits[i]);
    return out;
  }
  for (int64_t i = 0; i < t.numel(); ++i)
    f[i] = static_cast<float>(t.getAsDouble(i));
  return out;
}

struct LayerAccumulator {
  LayerError info;
  double diffSq = 0, teacherSq = 0, studentSq = 0, dot = 0;
};

} // namespace

Verification verify(const exec::ReferenceExecutor &teacher, const exec::ReferenceExecutor &reference,
                    const exec::ReferenceExecutor &student,
                    const std::vector<std::vector<rt::Tensor>> &samples,
                    const std::optional<Labels> &labels, llvm::raw_ostream &log) {
  Verification v;
  std::vector<AgreementAccumulator> outputs;
  // Top-1 and KL read the first output's rows as scores: only a float output has them.
  for (const auto &spec : teacher.outputs())
    outputs.emplace_back(spec.name, /*rowMetrics=*/outputs.empty() &&
                                        (spec.dtype == rt::DType::F32 || spec.dtype == rt::DType::F16 ||
                                         spec.dtype == rt::DType::BF16));
  bool lm = isTokenLm(teacher);
  PerplexityAccumulator pplTeacher, pplStudent;
  AccuracyAccumulator accTeacher, accStudent;
  int64_t labelCursor = 0;

  // Quantized layers of the student, keyed by the teacher node they replace.
  std::map<std::string, size_t> layerOf;
  std::vector<LayerAccumulator> layers;
  for (mlir::Operation *op : student.stepOps())
    if (auto replaces = op->getAttrOfType<mlir::StringAttr>(quant::kReplacesAttr)) {
      layerOf[replaces.str()] = layers.size();
      LayerAccumulator acc;
      acc.info.node = passes::nodeName(op);
      acc.info.replaces = replaces.str();
      acc.info.op = op->getName().stripDialect().str();
      layers.push_back(acc);
    }

  Progress progress = Progress::on(log, "verify", static_cast<int64_t>(samples.size()));
  for (const auto &sample : samples) {
    std::vector<rt::Tensor> teacherValues(layers.size()), studentValues(layers.size());
    auto t = teacher.run(sample);
    if (!layers.empty())
      reference.run(sample, [&](mlir::Operation *op, const std::vector<rt::Tensor> &results) {
        auto it = layerOf.find(passes::nodeName(op));
        if (it != layerOf.end() && !results.empty())
          teacherValues[it->second] = results[0];
      });
    auto s = student.run(sample, [&](mlir::Operation *op, const std::vector<rt::Tensor> &results) {
      auto replaces = op->getAttrOfType<mlir::StringAttr>(quant::kReplacesAttr);
      if (replaces && !results.empty())
        studentValues[layerOf.at(replaces.str())] = results[0];
    });
    for (auto &value : t)
      value = comparable(value);
    for (auto &value : s)
      value = comparable(value);
    for (size_t i = 0; i < outputs.size(); ++i)
      if (t[i].dtype() == rt::DType::F32)
        outputs[i].add(t[i], s[i]);
    if (lm) {
      pplTeacher.add(sample[0], t[0]);
      pplStudent.add(sample[0], s[0]);
    }
    if (labels && t[0].rank() == 2) {
      int64_t rows = t[0].dim(0);
      if (labelCursor + rows > labels->numel())
        throw tools::ToolError(labels->file + ": has " + std::to_string(labels->numel()) +
                               " labels, fewer than the evaluation set's samples (at least " +
                               std::to_string(labelCursor + rows) + ")");
      std::vector<int64_t> chunk(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r)
        chunk[static_cast<size_t>(r)] = labels->getAsInt64(labelCursor + r);
      accTeacher.add(t[0], chunk.data(), rows);
      accStudent.add(s[0], chunk.data(), rows);
      labelCursor += rows;
    }
    for (size_t l = 0; l < layers.size(); ++l) {
      const rt::Tensor &a = teacherValues[l], &b = studentValues[l];
      if (a.isAbsent() || b.isAbsent() || a.shape() != b.shape() || a.dtype() != rt::DType::F32)
        continue;
      auto &acc = layers[l];
      for (int64_t i = 0; i < a.numel(); ++i) {
        double x = a.data<float>()[i], y = b.data<float>()[i];
        acc.diffSq += (x - y) * (x - y);
        acc.teacherSq += x * x;
        acc.studentSq += y * y;
        acc.dot += x * y;
      }
    }
    ++v.samples;
    progress.step();
  }
  for (auto &o : outputs)
    v.outputs.push_back(o.result());
  if (lm && pplTeacher.count())
    v.task = TaskMetric{"perplexity", pplTeacher.perplexity(), pplStudent.perplexity(),
                        pplTeacher.count()};
  else if (labels && accTeacher.count()) {
    if (labelCursor != labels->numel())
      throw tools::ToolError(labels->file + ": has " + std::to_string(labels->numel()) +
                             " labels, the evaluation set " + std::to_string(labelCursor) +
                             " samples");
    v.task = TaskMetric{"accuracy", accTeacher.accuracy(), accStudent.accuracy(), accTeacher.count()};
  }
  for (auto &acc : layers) {
    acc.info.relError = acc.teacherSq > 0 ? std::sqrt(acc.diffSq / acc.teacherSq) : std::sqrt(acc.diffSq);
    double denom = std::sqrt(acc.teacherSq) * std::sqrt(acc.studentSq);
    acc.info.cosine = denom > 0 ? acc.dot / denom : 1.0;
    v.layers.push_back(acc.info);
  }
  return v;
}

std::pair<std::optional<double>, std::string> measuredDrop(const Verification &v) {
  if (v.task && v.task->name == "accuracy")
    return {100.0 * (v.task->teacher - v.task->student), "accuracy (percentage points)"};
  if (v.task && v.task->name == "perplexity" && v.task->teacher > 0)
    return {100.0 * (v.task->student / v.task->teacher - 1.0), "perplexity (relative increase)"};
  if (!v.outputs.empty())
    return {100.0 * (1.0 - v.outputs[0].cosine), "1 - cosine of output '" + v.outputs[0].name + "'"};
  return {std::nullopt, "none"};
}

bool AccuracyTarget::metBy(const Verification &v) const {
  if (maxDropPercent) {
    auto drop = measuredDrop(v).first;
    if (!drop || *drop > *maxDropPercent)
      return false;
  }
  if (maxMeanKl && (v.outputs.empty() || v.outputs[0].meanKl > *maxMeanKl))
    return false;
  if (minTop1 && (v.outputs.empty() || v.outputs[0].rows == 0 ||
                  v.outputs[0].top1Agreement < *minTop1))
    return false;
  return true;
}

} // namespace ds::pipeline
