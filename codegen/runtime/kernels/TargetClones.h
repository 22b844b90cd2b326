//===- TargetClones.h - one loop compiled for AVX-512, AVX2 and baseline ---===//
//
// The library is built for baseline x86-64; hot plain-C++ loops get
// DS_X86_CLONES so the dynamic loader picks an AVX-512 or AVX2 copy on CPUs
// that have them. The clones must compute the same bits: use it only on
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
