//===- TargetClones.h - one loop compiled for AVX-512, AVX2 and baseline ---===//
//
// The library is built for baseline x86-64; hot plain-C++ loops get
// DS_X86_CLONES so the dynamic loader picks an AVX-512 or AVX2 copy on CPUs
// that have them; hand-written AVX-512 paths ask cpuHasAvx512f(). The clones must compute the same bits: use it only on
// loops with nothing the compiler could contract into a multiply-add, or
// under fp-contract=off (each user says which).
//
//===----------------------------------------------------------------------===//
#pragma once

#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define DS_X86_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DS_X86_CLONES
#endif

namespace ds::rt {

/// Whether this CPU runs AVX-512F code, asked once: the kernels with
/// hand-written AVX-512 paths (target("avx512f") functions) choose them by it.
inline bool cpuHasAvx512f() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
#else
  return false;
#endif
}

} // namespace ds::rt
