/* The vector loops of spikeclf/_lif.pyx, in C for two reasons: `#pragma omp
 * simd reduction` lets the compiler vectorize a loop that also counts, which a
 * Cython loop cannot ask for, and `target_clones` builds each loop for AVX2 too
 * and picks the version when the module loads, so one portable binary runs at
 * the speed of the machine (the profile of a 784-800-10 network showed these
 * loops scalar or latency-bound with the baseline SSE2 alone).
 *
 * The arithmetic is the reference simulator's, operation for operation, with no
 * FMA contraction (-ffp-contract=off) and exact integer counts, so results do
 * not depend on the vector width or the machine.
 *
 * Every loop exists for double (spikeclf._lif, training and inference) and for
 * float (spikeclf._lif32, inference): _lif_simd_body.h is compiled once per
 * type, so both do the same operations in the same order, each rounded to its
 * own type. spikeclf_integrate(v, ...) and the others pick their version by the
 * type of their first pointer (C11 _Generic), so that a Cython declaration
 * written on a ctypedef'd `real` serves both modules. */
#ifndef SPIKECLF_LIF_SIMD_H
#define SPIKECLF_LIF_SIMD_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* n zeroed bytes starting on a cache line, released with free(): the vector
 * loops then never split a load or store of a layer's state across two lines
 * (calloc gives 16-byte alignment, so every other 32-byte AVX2 access did). */
static inline void *spikeclf_aligned_zeros(size_t n)
{
    size_t bytes = (n + 63) / 64 * 64;
#if defined(_WIN32)
    return calloc(bytes ? bytes : 64, 1); /* no posix_memalign; free() must work */
#else
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    memset(p, 0, bytes);
    return p;
#endif
}

/* `unused`: a module calls the loops of one type only. Unrolled: a loop's own
 * counter and branch took a quarter of its instructions, and unrolling made
 * inference 5 % faster (docs/performance.md). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SPIKECLF_VECTOR                                                            \
    __attribute__((noinline, unused, target_clones("avx2", "default"),             \
                   optimize("unroll-loops")))
#elif defined(__GNUC__)
#define SPIKECLF_VECTOR __attribute__((unused))
#else
#define SPIKECLF_VECTOR
#endif

#define SPIKECLF_BLOCK 64

#define SPIKECLF_REAL double
#define SPIKECLF_COUNT ptrdiff_t
#define SPIKECLF_NAME(name) name##_f64
#include "_lif_simd_body.h"
#undef SPIKECLF_REAL
#undef SPIKECLF_COUNT
#undef SPIKECLF_NAME

#define SPIKECLF_REAL float
#define SPIKECLF_COUNT int
#define SPIKECLF_NAME(name) name##_f32
#include "_lif_simd_body.h"
#undef SPIKECLF_REAL
#undef SPIKECLF_COUNT
#undef SPIKECLF_NAME

/* The version of loop `name` for the floating type x points to; any other type
 * is a compile error. */
#define SPIKECLF_GENERIC(x, name)                                                  \
    _Generic((x), double *: name##_f64, const double *: name##_f64,                \
             float *: name##_f32, const float *: name##_f32)

#define spikeclf_integrate(v, ...) SPIKECLF_GENERIC(v, spikeclf_integrate)(v, __VA_ARGS__)
#define spikeclf_integrate_scaled(v, ...)                                          \
    SPIKECLF_GENERIC(v, spikeclf_integrate_scaled)(v, __VA_ARGS__)
#define spikeclf_integrate_each(v, ...)                                            \
    SPIKECLF_GENERIC(v, spikeclf_integrate_each)(v, __VA_ARGS__)
#define spikeclf_integrate_offset_scaled(v, ...)                                   \
    SPIKECLF_GENERIC(v, spikeclf_integrate_offset_scaled)(v, __VA_ARGS__)
#define spikeclf_inhibit(v, ...) SPIKECLF_GENERIC(v, spikeclf_inhibit)(v, __VA_ARGS__)
#define spikeclf_inhibit_integrate(v, ...)                                         \
    SPIKECLF_GENERIC(v, spikeclf_inhibit_integrate)(v, __VA_ARGS__)
#define spikeclf_best_ratio(v, ...) SPIKECLF_GENERIC(v, spikeclf_best_ratio)(v, __VA_ARGS__)
#define spikeclf_integrate_uniform(v, ...)                                         \
    SPIKECLF_GENERIC(v, spikeclf_integrate_uniform)(v, __VA_ARGS__)
#define spikeclf_integrate_scaled_uniform(v, ...)                                  \
    SPIKECLF_GENERIC(v, spikeclf_integrate_scaled_uniform)(v, __VA_ARGS__)
#define spikeclf_inhibit_uniform(v, ...)                                           \
    SPIKECLF_GENERIC(v, spikeclf_inhibit_uniform)(v, __VA_ARGS__)
#define spikeclf_inhibit_integrate_uniform(v, ...)                                 \
    SPIKECLF_GENERIC(v, spikeclf_inhibit_integrate_uniform)(v, __VA_ARGS__)
#define spikeclf_best_ratio_uniform(v, ...)                                        \
    SPIKECLF_GENERIC(v, spikeclf_best_ratio_uniform)(v, __VA_ARGS__)
#define spikeclf_accumulate_rows(acc, ...)                                         \
    SPIKECLF_GENERIC(acc, spikeclf_accumulate_rows)(acc, __VA_ARGS__)

#endif
