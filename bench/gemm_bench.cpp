// GFLOP/s of gemmF32 at the MatMul shapes the project cares about, per
// micro-kernel family and thread count. ONNX Runtime's MLAS is the peer:
// compare with the same shapes through onnxruntime on the same machine.
//   ds-gemm-bench --benchmark_filter='avx512'
#include "Gemm.h"

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

using namespace ds::rt;

namespace {

struct GemmShape {
  int64_t M, K, N;
  bool transB;
};

void runGemm(benchmark::State &state, GemmIsa isa, GemmShape s, unsigned threads) {
  if (!gemmIsaSupported(isa)) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(s.M * s.K), b(s.K * s.N), c(s.M * s.N);
  for (float &v : a)
    v = dist(rng);
  for (float &v : b)
    v = dist(rng);
  ThreadPool pool(threads);
  int64_t ldb = s.transB ? s.K : s.N;
  for (auto _ : state) {
    gemmF32WithIsa(isa, false, s.transB, s.M, s.N, s.K, 1.0f, a.data(), s.K, b.data(), ldb,
                   0.0f, c.data(), s.N, GemmBias{}, &pool);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

const GemmShape kShapes[] = {{128, 64, 172, false}, {128, 64, 512, false},
                             {512, 512, 512, false}, {1024, 1024, 1024, false},
                             {512, 512, 512, true},   {1, 4096, 4096, false}};

int registerAll() {
  for (GemmIsa isa : {GemmIsa::Avx512, GemmIsa::Avx2Fma, GemmIsa::Portable})
    for (const GemmShape &s : kShapes)
      for (unsigned threads : {1u, 2u}) {
        std::string name = std::string("gemm/") + gemmIsaName(isa) + "/" +
                           std::to_string(s.M) + "x" + std::to_string(s.K) + "x" +
                           std::to_string(s.N) + (s.transB ? "/transB" : "") +
                           "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), runGemm, isa, s, threads)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
  return 0;
}
const int kRegistered = registerAll();

} // namespace

BENCHMARK_MAIN();
