//===- Metrics.cpp --------------------------------------------------------===//
#include "pipeline/Metrics.h"

#include <algorithm>
#include <cmath>

namespace ds::pipeline {

namespace {
/// log(sum(exp(row))) computed stably in double.
double logSumExp(const float *row, int64_t n) {
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    mx = std::max(mx, static_cast<double>(row[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(static_cast<double>(row[i]) - mx);
  return mx + std::log(sum);
}

int64_t argmax(const float *row, int64_t n) {
  return std::max_element(row, row + n) - row;
}
} // namespace

void AgreementAccumulator::add(const rt::Tensor &teacher, const rt::Tensor &student) {
  DS_CHECK(teacher.dtype() == rt::DType::F32 && student.dtype() == rt::DType::F32,
           "output '" + result_.name + "' is not float32; only float outputs are compared");
  DS_CHECK(teacher.shape() == student.shape(),
           "output '" + result_.name + "' has shape " + rt::shapeToString(student.shape()) +
               " in the student, " + rt::shapeToString(teacher.shape()) + " in the teacher");
  const float *t = teacher.data<float>(), *s = student.data<float>();
  for (int64_t i = 0; i < teacher.numel(); ++i) {
    double a = t[i], b = s[i];
    result_.maxAbsError = std::max(result_.maxAbsError, std::fabs(a - b));
    maxAbsTeacher_ = std::max(maxAbsTeacher_, std::fabs(a));
    dot_ += a * b;
    teacherSq_ += a * a;
    studentSq_ += b * b;
  }
  int64_t width = teacher.rank() ? teacher.shape().back() : 1;
  if (!rowMetrics_ || width <= 1 || teacher.numel() == 0)
    return;
  int64_t rows = teacher.numel() / width;
  for (int64_t r = 0; r < rows; ++r) {
    const float *tr = t + r * width, *sr = s + r * width;
    agree_ += argmax(tr, width) == argmax(sr, width);
    double lt = logSumExp(tr, width), ls = logSumExp(sr, width), kl = 0;
    for (int64_t i = 0; i < width; ++i) {
      double logP = tr[i] - lt, logQ = sr[i] - ls;
      kl += std::exp(logP) * (logP - logQ);
    }
    klSum_ += std::max(kl, 0.0);
  }
  result_.rows += rows;
}

OutputAgreement AgreementAccumulator::result() const {
  OutputAgreement r = result_;
  r.maxRelError = maxAbsTeacher_ > 0 ? r.maxAbsError / maxAbsTeacher_ : r.maxAbsError;
  double denom = std::sqrt(teacherSq_) * std::sqrt(studentSq_);
  r.cosine = denom > 0 ? dot_ / denom : (teacherSq_ == studentSq_ ? 1.0 : 0.0);
  if (r.rows) {
    r.top1Agreement = static_cast<double>(agree_) / static_cast<double>(r.rows);
    r.meanKl = klSum_ / static_cast<double>(r.rows);
  }
  return r;
}

void PerplexityAccumulator::add(const rt::Tensor &tokens, const rt::Tensor &logits) {
  DS_CHECK(logits.dtype() == rt::DType::F32 && logits.rank() == 3, "logits must be float [B, T, V]");
  DS_CHECK(tokens.rank() == 2 && tokens.dim(0) == logits.dim(0) && tokens.dim(1) == logits.dim(1),
           "tokens must be [B, T] matching the logits");
  int64_t batch = logits.dim(0), steps = logits.dim(1), vocab = logits.dim(2);
  const float *l = logits.data<float>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t + 1 < steps; ++t) {
      int64_t next = tokens.getAsInt64(b * steps + t + 1);
      DS_CHECK(next >= 0 && next < vocab, "token id " + std::to_string(next) +
                                              " is outside the vocabulary of " + std::to_string(vocab));
      const float *row = l + (b * steps + t) * vocab;
      nllSum_ += logSumExp(row, vocab) - row[next];
      ++count_;
    }
}

double PerplexityAccumulator::perplexity() const {
  return count_ ? std::exp(nllSum_ / static_cast<double>(count_)) : 0.0;
}

void AccuracyAccumulator::add(const rt::Tensor &logits, const int64_t *labels, int64_t count) {
  DS_CHECK(logits.dtype() == rt::DType::F32 && logits.rank() == 2 && logits.dim(0) == count,
           "logits must be float [B, C] with one label per row");
  int64_t classes = logits.dim(1);
  for (int64_t b = 0; b < count; ++b)
    correct_ += argmax(logits.data<float>() + b * classes, classes) == labels[b];
  count_ += count;
}

} // namespace ds::pipeline
