//===- Verify.h - measure the student against the FP32 teacher ------------===//
//
// DESIGN §2 phase 8 / §5: runs teacher and student executors side by side over
// held-out samples and collects per-output agreement, the task metric (next-
// token perplexity for LMs, accuracy with labels) and the error of every
// quantized layer against the FP32 value it replaced.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "executor/ReferenceExecutor.h"
#include "pipeline/Metrics.h"
#include "pipeline/Samples.h"

#include <optional>

namespace llvm {
class raw_ostream;
}
#include <string>
#include <vector>

namespace ds::pipeline {

/// The error of one quantized layer's output against the teacher's value
/// (same node), accumulated over the evaluation samples.
struct LayerError {
  std::string node;     // the quantized op's node name
  std::string replaces; // teacher node whose value it computes
  std::string op;       // e.g. "quant_matmul"
  double relError = 0;  // ||s - t|| / ||t|| over all samples (L2)
  double cosine = 1;
};

struct TaskMetric {
  std::string name;     // "perplexity" or "accuracy"
  double teacher = 0, student = 0;
  int64_t count = 0;    // tokens or labelled samples
};

struct Verification {
  int64_t samples = 0;
  std::vector<OutputAgreement> outputs;
  std::optional<TaskMetric> task;
  std::vector<LayerError> layers;
};

/// `teacher` is the model as imported; `reference` the optimized FP32 model the
/// student was quantized from (BatchNorm folded, same node names), whose values
/// layer errors compare against. `labels`, when given, holds one class id per
/// row of output 0 across all samples in order. Throws ExecutionError /
/// rt::Error on a run failure.
Verification verify(const exec::ReferenceExecutor &teacher, const exec::ReferenceExecutor &reference,
                    const exec::ReferenceExecutor &student,
                    const std::vector<std::vector<rt::Tensor>> &samples,
                    const std::optional<Labels> &labels, llvm::raw_ostream &log);

/// The drop the --max-drop target is checked against, in percent, and what it
/// measures: accuracy points with labels, the relative perplexity increase for
/// LMs, else 1 - cosine of output 0.
std::pair<std::optional<double>, std::string> measuredDrop(const Verification &v);

/// What the student must keep of the teacher (--max-drop, --max-kl,
/// --min-top1); a target not set always holds.
struct AccuracyTarget {
  std::optional<double> maxDropPercent; // in measuredDrop's unit
  std::optional<double> maxMeanKl;      // nats, mean over output 0's rows
  std::optional<double> minTop1;        // fraction of output 0's rows whose argmax is the teacher's
  bool any() const { return maxDropPercent || maxMeanKl || minTop1; }
  bool metBy(const Verification &v) const;
};

} // namespace ds::pipeline
