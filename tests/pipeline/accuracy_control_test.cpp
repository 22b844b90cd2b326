// controlAccuracy on a model whose cost is known exactly: the student's KL is a
// floor plus the isolated cost of every layer still in INT8, so the ranking, the
// order layers return to FP32 and where the search stops are all predictable.
#include "pipeline/AccuracyControl.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ds::pipeline {
namespace {

struct AdditiveModel {
  std::vector<std::pair<std::string, double>> layers; // graph order, cost alone
  double floor = 0.0;                                  // KL with every layer in FP32
  std::vector<std::vector<std::string>> calls;         // every trial's FP32 set

  Verification verification(const std::vector<std::string> &fp32Layers) const {
    Verification v;
    OutputAgreement logits;
    logits.name = "logits";
    logits.rows = 1;
    logits.meanKl = floor;
    for (const auto &[node, cost] : layers) {
      if (std::find(fp32Layers.begin(), fp32Layers.end(), node) != fp32Layers.end())
        continue;
      logits.meanKl += cost;
      v.layers.push_back({node, node, "quant_matmul", 0.0, 1.0});
    }
    v.outputs.push_back(logits);
    return v;
  }
  QuantTrial trial() {
    return [this](const std::vector<std::string> &fp32Layers) {
      calls.push_back(fp32Layers);
      return verification(fp32Layers);
    };
  }
};

AccuracyTarget maxKl(double nats) { return AccuracyTarget{std::nullopt, nats}; }

TEST(AccuracyControl, ReturnsCostliestLayersFirstUntilTheTargetHolds) {
  AdditiveModel model{{{"a", 0.1}, {"b", 0.4}, {"c", 0.2}, {"d", 0.05}}};
  AccuracyControlResult r =
      controlAccuracy(model.verification({}), maxKl(0.2), model.trial(), llvm::nulls());
  EXPECT_TRUE(r.met);
  // 0.75 -> without b 0.35 -> without b, c 0.15 <= 0.2.
  EXPECT_EQ(r.fp32Layers, (std::vector<std::string>{"b", "c"}));
  EXPECT_NEAR(r.verification.outputs[0].meanKl, 0.15, 1e-12);
  EXPECT_EQ(r.trials, 4 + 2);
  // Ranking runs each layer alone in INT8; the last trial built the returned set.
  EXPECT_EQ(model.calls[0], (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(model.calls.back(), r.fp32Layers);
}

TEST(AccuracyControl, MetByTheAllInt8StudentRunsNoTrial) {
  AdditiveModel model{{{"a", 0.01}, {"b", 0.02}}};
  AccuracyControlResult r =
      controlAccuracy(model.verification({}), maxKl(0.05), model.trial(), llvm::nulls());
  EXPECT_TRUE(r.met);
  EXPECT_TRUE(r.fp32Layers.empty());
  EXPECT_EQ(r.trials, 0);
  EXPECT_TRUE(model.calls.empty());
}

TEST(AccuracyControl, EqualCostsKeepGraphOrder) {
  AdditiveModel model{{{"x", 0.3}, {"y", 0.3}, {"z", 0.3}}};
  AccuracyControlResult r =
      controlAccuracy(model.verification({}), maxKl(0.35), model.trial(), llvm::nulls());
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.fp32Layers, (std::vector<std::string>{"x", "y"}));
}

TEST(AccuracyControl, AnUnreachableTargetEndsWithEveryLayerInFp32) {
  // The floor (error outside the quantized layers) alone exceeds the target.
  AdditiveModel model{{{"a", 0.1}, {"b", 0.2}}, /*floor=*/0.5};
  AccuracyControlResult r =
      controlAccuracy(model.verification({}), maxKl(0.1), model.trial(), llvm::nulls());
  EXPECT_FALSE(r.met);
  EXPECT_EQ(r.fp32Layers, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(model.calls.back(), r.fp32Layers);
}

TEST(AccuracyControl, DropTargetUsesTheTaskMetric) {
  // Perplexity 10 -> 10.5 is a 5% drop; the target holds at 1%.
  Verification v;
  v.task = TaskMetric{"perplexity", 10.0, 10.5, 48};
  EXPECT_FALSE((AccuracyTarget{1.0, std::nullopt}.metBy(v)));
  v.task->student = 10.05;
  EXPECT_TRUE((AccuracyTarget{1.0, std::nullopt}.metBy(v)));
  EXPECT_TRUE(AccuracyTarget{}.metBy(v)); // no target set
}

TEST(AccuracyControl, Top1TargetNeedsRowsAndHoldsAtTheBound) {
  Verification v;
  EXPECT_FALSE((AccuracyTarget{std::nullopt, std::nullopt, 0.95}.metBy(v))) << "no outputs";
  OutputAgreement logits;
  logits.name = "logits";
  v.outputs.push_back(logits);
  EXPECT_FALSE((AccuracyTarget{std::nullopt, std::nullopt, 0.0}.metBy(v))) << "no rows to argmax";
  v.outputs[0].rows = 49;
  v.outputs[0].top1Agreement = 46.0 / 49.0;
  EXPECT_FALSE((AccuracyTarget{std::nullopt, std::nullopt, 0.95}.metBy(v)));
  v.outputs[0].top1Agreement = 47.0 / 49.0;
  EXPECT_TRUE((AccuracyTarget{std::nullopt, std::nullopt, 0.95}.metBy(v)));
  EXPECT_TRUE((AccuracyTarget{std::nullopt, std::nullopt, 47.0 / 49.0}.metBy(v)));
  // Every target set must hold.
  v.outputs[0].meanKl = 0.02;
  EXPECT_FALSE((AccuracyTarget{std::nullopt, 0.01, 0.95}.metBy(v)));
}

} // namespace
} // namespace ds::pipeline
