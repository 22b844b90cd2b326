//===- Gptq.cpp -----------------------------------------------------------===//
#include "quantizers/Gptq.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ds::quant {

namespace {
/// In-place lower Cholesky factor of the symmetric positive definite n x n `a`
/// (row-major); returns false when a pivot is not positive.
bool cholesky(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0))
      return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (int64_t k = 0; k < j; ++k)
        v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / d;
    }
    for (int64_t k = j + 1; k < n; ++k)
      a[j * n + k] = 0;
  }
  return true;
}

/// H^-1 from its lower Cholesky factor L (H = L L^T): H^-1 = L^-T L^-1.
std::vector<double> inverseFromCholesky(const std::vector<double> &l, int64_t n) {
  std::vector<double> linv(static_cast<size_t>(n * n), 0.0); // L^-1, lower
  for (int64_t i = 0; i < n; ++i) {
    linv[i * n + i] = 1.0 / l[i * n + i];
    for (int64_t j = 0; j < i; ++j) {
      double v = 0;
      for (int64_t k = j; k < i; ++k)
        v -= l[i * n + k] * linv[k * n + j];
      linv[i * n + j] = v / l[i * n + i];
    }
  }
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double v = 0;
      for (int64_t k = i; k < n; ++k)
        v += linv[k * n + i] * linv[k * n + j];
      inv[i * n + j] = inv[j * n + i] = v;
    }
  return inv;
}
} // namespace

rt::Tensor gptqQuantize(const rt::Tensor &weights, const rt::Tensor &scales, const rt::Tensor &hessian,
                        double damp) {
  DS_CHECK(weights.dtype() == rt::DType::F32 && weights.rank() == 2, "GPTQ weights must be float [K, N]");
  const int64_t K = weights.dim(0), N = weights.dim(1);
  DS_CHECK(scales.dtype() == rt::DType::F32 && scales.numel() == N, "GPTQ scales must be float [N]");
  DS_CHECK(hessian.dtype() == rt::DType::F32 && hessian.rank() == 2 && hessian.dim(0) == K &&
               hessian.dim(1) == K,
           "GPTQ Hessian must be float [K, K] with K = " + std::to_string(K));
  std::vector<double> w(weights.data<float>(), weights.data<float>() + K * N);
  std::vector<double> h(hessian.data<float>(), hessian.data<float>() + K * K);
  const float *s = scales.data<float>();

  double meanDiag = 0;
  for (int64_t k = 0; k < K; ++k)
    meanDiag += h[k * K + k];
  meanDiag = K ? meanDiag / static_cast<double>(K) : 0;
  std::vector<bool> dead(static_cast<size_t>(K), false);
  for (int64_t k = 0; k < K; ++k)
    if (!(h[k * K + k] > 0)) { // never active: any value of this row gives the same output
      dead[static_cast<size_t>(k)] = true;
      for (int64_t j = 0; j < K; ++j)
        h[k * K + j] = h[j * K + k] = 0;
      h[k * K + k] = 1;
    }
  for (int64_t k = 0; k < K; ++k)
    h[k * K + k] += damp * (meanDiag > 0 ? meanDiag : 1.0);
  DS_CHECK(cholesky(h, K), "GPTQ: the Hessian is not positive definite after damping");
  std::vector<double> u = inverseFromCholesky(h, K);
  // GPTQ walks the upper Cholesky factor of H^-1 (H^-1 = U^T U).
  DS_CHECK(cholesky(u, K), "GPTQ: the inverse Hessian is not positive definite");
  // u now holds the lower factor L' of H^-1 = L' L'^T; U = L'^T, so U[k][j] = u[j][k].

  rt::Tensor q(rt::DType::I8, {K, N});
  int8_t *out = q.mutableData<int8_t>();
  std::vector<double> err(static_cast<size_t>(N));
  for (int64_t k = 0; k < K; ++k) {
    double ukk = u[k * K + k];
    for (int64_t n = 0; n < N; ++n) {
      double r = std::clamp(std::nearbyint(w[k * N + n] / s[n]), -127.0, 127.0);
      out[k * N + n] = static_cast<int8_t>(r);
      err[static_cast<size_t>(n)] = dead[static_cast<size_t>(k)] ? 0.0 : (w[k * N + n] - r * s[n]) / ukk;
    }
    for (int64_t j = k + 1; j < K; ++j) {
      double ukj = u[j * K + k];
      if (ukj == 0)
        continue;
      for (int64_t n = 0; n < N; ++n)
        w[j * N + n] -= ukj * err[static_cast<size_t>(n)];
    }
  }
  return q;
}

} // namespace ds::quant
