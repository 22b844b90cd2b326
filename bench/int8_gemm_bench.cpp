// The u8 x s8 GEMM against this machine's own VNNI peak, in one run:
//  (a) peak: a loop of independent vpdpbusd (zmm; ymm on AVX-VNNI-only CPUs),
//      1 thread and all threads -> int8 MAC/s;
//  (b) quantGemm 1024^3 with the dispatched ISA (int32 out, and float out with
//      the epilogue and A quantized from float as quant_matmul does);
//  (c) gemmF32 1024^3 for comparison.
// Every figure is the median of --reps timed runs (the machine is shared/noisy).
//   ds-int8-gemm-bench [--reps N] [--threads T] [--size S]
#include "Gemm.h"
#include "QuantGemm.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

using namespace ds::rt;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr int kChains = 24; // independent accumulators: hides vpdpbusd latency

// The loops are inline asm: GCC spills arrays of vector accumulators to the
// stack here, which would measure store forwarding rather than vpdpbusd.
#define DS_ZDP(n) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #n "\n\t"
#define DS_YDP(n) "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm" #n "\n\t"
#define DS_ZDP8(a, b, c, d, e, f, g, h)                                                   \
  DS_ZDP(a) DS_ZDP(b) DS_ZDP(c) DS_ZDP(d) DS_ZDP(e) DS_ZDP(f) DS_ZDP(g) DS_ZDP(h)

/// kChains * iters independent vpdpbusd on zmm (24 accumulators hide the latency).
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) void
peakLoopZmm(int64_t iters) {
  __asm__ volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
                   "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
                   "1:\n\t" DS_ZDP8(0, 1, 2, 3, 4, 5, 6, 7) DS_ZDP8(8, 9, 10, 11, 12, 13, 14, 15)
                       DS_ZDP8(16, 17, 18, 19, 20, 21, 22, 23) "dec %0\n\t"
                   "jnz 1b\n\t"
                   : "+r"(iters)
                   :
                   : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                     "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
                     "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
                     "xmm30", "xmm31");
}

/// The same count of MACs with 256-bit AVX-VNNI, for CPUs without AVX-512
/// (16 ymm registers: 12 accumulators + 2 sources).
__attribute__((target("avx2,avxvnni"), noinline)) void peakLoopYmm(int64_t iters) {
  iters *= 4; // 24 zmm ops = 48 ymm ops = 4 passes of 12
  __asm__ volatile("vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
                   "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
                   "1:\n\t"
                   DS_YDP(0) DS_YDP(1) DS_YDP(2) DS_YDP(3) DS_YDP(4) DS_YDP(5)
                   DS_YDP(6) DS_YDP(7) DS_YDP(8) DS_YDP(9) DS_YDP(10) DS_YDP(11)
                   "dec %0\n\t"
                   "jnz 1b\n\t"
                   : "+r"(iters)
                   :
                   : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                     "xmm8", "xmm9", "xmm10", "xmm11", "xmm14", "xmm15");
}

/// int8 MAC/s of `threads` threads each running the peak loop.
double measurePeak(bool zmm, unsigned threads, int reps) {
  const int64_t iters = 4'000'000;
  // MACs per iteration: zmm 24 ops x 64; ymm 4 x 12 ops x 32 = the same.
  const double macsPerThread = double(iters) * kChains * 64;
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    std::vector<double> times(threads);
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        ready++;
        while (!go.load()) {
        }
        auto t0 = Clock::now();
        zmm ? peakLoopZmm(iters) : peakLoopYmm(iters);
        times[t] = seconds(t0, Clock::now());
      });
    while (ready.load() < int(threads)) {
    }
    go = true;
    for (auto &th : pool)
      th.join();
    rates.push_back(macsPerThread * threads / *std::max_element(times.begin(), times.end()));
  }
  return median(rates);
}

/// Median seconds of fn over reps runs, after one warm-up.
double timeIt(int reps, const std::function<void()> &fn) {
  fn();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    fn();
    t.push_back(seconds(t0, Clock::now()));
  }
  return median(t);
}

} // namespace

int main(int argc, char **argv) {
  int reps = 15;
  unsigned allThreads = std::max(1u, std::thread::hardware_concurrency());
  int64_t S = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      allThreads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--size"))
      S = std::atoll(argv[i + 1]);
  }
  const QuantGemmIsa isa = quantGemmBestIsa();
  const bool zmm = quantGemmIsaSupported(QuantGemmIsa::Avx512Vnni);
  const bool ymm = quantGemmIsaSupported(QuantGemmIsa::AvxVnni);
  std::printf("int8 GEMM bench: dispatched ISA %s, %u threads, median of %d runs\n",
              quantGemmIsaName(isa), allThreads, reps);

  double peak1 = 0, peakAll = 0;
  if (zmm || ymm) {
    peak1 = measurePeak(zmm, 1, reps);
    peakAll = measurePeak(zmm, allThreads, reps);
    std::printf("peak vpdpbusd (%s): 1 thread %.1f G int8-MAC/s (%.1f GOPS), %u threads "
                "%.1f G MAC/s (%.1f GOPS)\n",
                zmm ? "zmm" : "ymm", peak1 / 1e9, 2 * peak1 / 1e9, allThreads, peakAll / 1e9,
                2 * peakAll / 1e9);
  } else {
    std::printf("no VNNI on this CPU: no peak to compare with\n");
  }

  std::mt19937 rng(42);
  std::uniform_int_distribution<int> ua(0, 255), sb(-127, 127);
  std::uniform_real_distribution<float> uf(-1.0f, 1.0f);
  std::vector<uint8_t> a(static_cast<size_t>(S * S));
  std::vector<int8_t> b(static_cast<size_t>(S * S));
  std::vector<float> af(a.size()), bf(a.size()), cf(a.size());
  std::vector<float> scales(static_cast<size_t>(S), 0.01f);
  for (auto &v : a)
    v = static_cast<uint8_t>(ua(rng));
  for (auto &v : b)
    v = static_cast<int8_t>(sb(rng));
  for (auto &v : af)
    v = uf(rng);
  for (auto &v : bf)
    v = uf(rng);
  std::vector<int32_t> c(a.size());
  QuantPackedB packed = packQuantB(false, S, S, b.data(), S);
  const double ops = 2.0 * double(S) * double(S) * double(S);

  for (unsigned threads : {1u, allThreads}) {
    ThreadPool pool(threads);
    const double peak = 2 * (threads == 1 ? peak1 : peakAll);
    QuantGemmA qa;
    qa.u8 = a.data();
    qa.ld = S;
    double t = timeIt(reps, [&] {
      quantGemmS32WithIsa(isa, S, qa, packed, {c.data(), S, 1}, &pool);
    });
    std::printf("u8s8 GEMM %lldx%lldx%lld int32 out, %u thread(s): %.3f ms, %.1f GOPS",
                (long long)S, (long long)S, (long long)S, threads, t * 1e3, ops / t / 1e9);
    if (peak > 0)
      std::printf(", %.1f%% of measured peak", 100.0 * ops / t / peak);
    std::printf("\n");

    QuantGemmA qf;
    qf.f32 = af.data();
    qf.ld = S;
    qf.scale = 1.0f / 127;
    qf.zeroPoint = 128;
    QuantEpilogue e;
    e.scaleA = qf.scale;
    e.zeroPointA = qf.zeroPoint;
    e.scaleB = scales.data();
    e.relu = true;
    t = timeIt(reps, [&] { quantGemm(S, qf, packed, e, {cf.data(), S, 1}, &pool); });
    std::printf("  float A quantized while packing + float epilogue (quant_matmul's work): "
                "%.3f ms, %.1f GOPS",
                t * 1e3, ops / t / 1e9);
    if (peak > 0)
      std::printf(", %.1f%% of peak", 100.0 * ops / t / peak);
    std::printf("\n");

    t = timeIt(reps, [&] {
      gemmF32(false, false, S, S, S, 1.0f, af.data(), S, bf.data(), S, 0.0f, cf.data(), S,
              GemmBias{}, &pool);
    });
    std::printf("  fp32 GEMM (%s) for comparison: %.3f ms, %.1f GFLOPS\n",
                gemmIsaName(gemmBestIsa()), t * 1e3, ops / t / 1e9);
  }
  return 0;
}
