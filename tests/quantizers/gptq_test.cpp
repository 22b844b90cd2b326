//===- gptq_test.cpp - GPTQ rounding against round-to-nearest -------------===//
#include "quantizers/Gptq.h"
#include "quantizers/Int8Scheme.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds;

namespace {
/// ||X W - X (Q * s)||^2 for X [rows, K], W [K, N].
double outputError(const std::vector<float> &x, int64_t rows, const rt::Tensor &w, const rt::Tensor &q,
                   const rt::Tensor &scales) {
  int64_t K = w.dim(0), N = w.dim(1);
  double err = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double exact = 0, quant = 0;
      for (int64_t k = 0; k < K; ++k) {
        exact += x[r * K + k] * w.data<float>()[k * N + n];
        quant += x[r * K + k] * q.data<int8_t>()[k * N + n] * scales.data<float>()[n];
      }
      err += (exact - quant) * (exact - quant);
    }
  return err;
}

struct Problem {
  int64_t rows = 256, K = 48, N = 24;
  std::vector<float> x;
  rt::Tensor w, hessian;
};

/// Correlated inputs (a shared component plus noise), as real activations are:
/// that correlation is what GPTQ exploits.
Problem makeProblem(uint32_t seed) {
  Problem p;
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  p.x.resize(static_cast<size_t>(p.rows * p.K));
  for (int64_t r = 0; r < p.rows; ++r) {
    float common = d(rng);
    for (int64_t k = 0; k < p.K; ++k)
      p.x[r * p.K + k] = 0.8f * common + 0.6f * d(rng) * (1.0f + static_cast<float>(k % 5));
  }
  p.w = rt::Tensor(rt::DType::F32, {p.K, p.N});
  for (int64_t i = 0; i < p.w.numel(); ++i)
    p.w.mutableData<float>()[i] = 0.1f * d(rng);
  p.hessian = rt::Tensor(rt::DType::F32, {p.K, p.K});
  for (int64_t i = 0; i < p.K; ++i)
    for (int64_t j = 0; j < p.K; ++j) {
      double v = 0;
      for (int64_t r = 0; r < p.rows; ++r)
        v += p.x[r * p.K + i] * p.x[r * p.K + j];
      p.hessian.mutableData<float>()[i * p.K + j] = static_cast<float>(v / p.rows);
    }
  return p;
}
} // namespace

TEST(Gptq, LowersTheLayerOutputErrorBelowRoundToNearest) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Problem p = makeProblem(seed);
    auto rtn = quant::quantizeSymmetricPerChannel(p.w, 1);
    rt::Tensor gptq = quant::gptqQuantize(p.w, rtn.scales, p.hessian);
    double eRtn = outputError(p.x, p.rows, p.w, rtn.values, rtn.scales);
    double eGptq = outputError(p.x, p.rows, p.w, gptq, rtn.scales);
    EXPECT_LT(eGptq, 0.8 * eRtn) << "seed " << seed;
    for (int64_t i = 0; i < gptq.numel(); ++i) {
      EXPECT_GE(gptq.data<int8_t>()[i], -127);
      EXPECT_LE(gptq.data<int8_t>()[i], 127);
    }
  }
}

TEST(Gptq, IdentityHessianWithoutCorrelationIsRoundToNearest) {
  // With H = I the error feedback has nowhere to go: GPTQ is RTN.
  Problem p = makeProblem(4);
  rt::Tensor eye(rt::DType::F32, {p.K, p.K});
  for (int64_t i = 0; i < p.K; ++i)
    eye.mutableData<float>()[i * p.K + i] = 1.0f;
  auto rtn = quant::quantizeSymmetricPerChannel(p.w, 1);
  rt::Tensor gptq = quant::gptqQuantize(p.w, rtn.scales, eye);
  for (int64_t i = 0; i < gptq.numel(); ++i)
    EXPECT_EQ(gptq.data<int8_t>()[i], rtn.values.data<int8_t>()[i]) << i;
}

TEST(Gptq, DeadInputChannelsAndShapeErrors) {
  Problem p = makeProblem(5);
  for (int64_t j = 0; j < p.K; ++j) { // input channel 3 never active
    p.hessian.mutableData<float>()[3 * p.K + j] = 0;
    p.hessian.mutableData<float>()[j * p.K + 3] = 0;
  }
  auto rtn = quant::quantizeSymmetricPerChannel(p.w, 1);
  rt::Tensor gptq = quant::gptqQuantize(p.w, rtn.scales, p.hessian);
  for (int64_t n = 0; n < p.N; ++n) // a dead row is rounded to nearest
    EXPECT_EQ(gptq.data<int8_t>()[3 * p.N + n], rtn.values.data<int8_t>()[3 * p.N + n]);
  rt::Tensor wrong(rt::DType::F32, {p.K + 1, p.K + 1});
  EXPECT_THROW(quant::gptqQuantize(p.w, rtn.scales, wrong), rt::Error);
}
