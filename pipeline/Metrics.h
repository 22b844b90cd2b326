//===- Metrics.h - student-vs-teacher accuracy metrics (DESIGN §5) --------===//
//
// Accumulates, over an evaluation set, how far the quantized model (student)
// is from the FP32 model (teacher) on each output, and the task metric where
// the data has one: perplexity of next tokens for LMs, accuracy for labelled
// classifiers. Streaming: memory does not grow with the number of samples.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ds::pipeline {

/// Distances between teacher and student on one output over all samples.
struct OutputAgreement {
  std::string name;
  double maxAbsError = 0;   // max |s - t|
  double maxRelError = 0;   // max |s - t| / max |t| (relative to the output's scale)
  double cosine = 1;        // of the flattened outputs, over all samples
  // Along the last axis, treating each row as logits (the first output only):
  int64_t rows = 0;
  double top1Agreement = 1; // fraction of rows whose argmax agrees
  double meanKl = 0;        // mean KL(softmax(t) || softmax(s)) in nats
};

class AgreementAccumulator {
public:
  /// `rowMetrics`: also treat rows of the last axis as logits (top-1, KL);
  /// meaningful for a model's prediction output, not for e.g. KV-cache outputs.
  AgreementAccumulator(std::string name, bool rowMetrics) : rowMetrics_(rowMetrics) {
    result_.name = std::move(name);
  }
  /// Both float32 of the same shape; throws rt::Error otherwise.
  void add(const rt::Tensor &teacher, const rt::Tensor &student);
  OutputAgreement result() const;

private:
  OutputAgreement result_;
  bool rowMetrics_;
  double dot_ = 0, teacherSq_ = 0, studentSq_ = 0, maxAbsTeacher_ = 0;
  int64_t agree_ = 0;
  double klSum_ = 0;
};

/// Mean next-token negative log-likelihood of `logits` [B, T, V] for tokens
/// [B, T] (position t predicts token t+1). Accumulates over samples.
class PerplexityAccumulator {
public:
  void add(const rt::Tensor &tokens, const rt::Tensor &logits);
  int64_t count() const { return count_; }
  double perplexity() const;

private:
  double nllSum_ = 0;
  int64_t count_ = 0;
};

/// Top-1 accuracy of logits [B, C] against int labels [B].
class AccuracyAccumulator {
public:
  void add(const rt::Tensor &logits, const int64_t *labels, int64_t count);
  int64_t count() const { return count_; }
  double accuracy() const { return count_ ? static_cast<double>(correct_) / count_ : 0.0; }

private:
  int64_t correct_ = 0, count_ = 0;
};

} // namespace ds::pipeline
