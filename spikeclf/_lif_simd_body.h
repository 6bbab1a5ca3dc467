/* The vector loops of spikeclf/_lif_simd.h, written once for both floating
 * types: _lif_simd.h includes this file twice, with
 *   SPIKECLF_REAL   double or float: potentials, weights, thresholds, offsets;
 *   SPIKECLF_COUNT  the counter of neurons at threshold, as wide as one lane of
 *                   SPIKECLF_REAL, so that the counting reduction of a vector
 *                   loop needs no widening (8 float lanes count in 8 ints);
 *   SPIKECLF_NAME   the suffix of the functions, _f64 or _f32.
 * Times (t, t_out, t_ref) are double in both. No include guard: on purpose. */

/* The lower bound of a membrane potential, lo = -th. */
static inline SPIKECLF_REAL SPIKECLF_NAME(spikeclf_bound)(SPIKECLF_REAL v, SPIKECLF_REAL lo)
{
    return v > lo ? v : lo;
}

/* The loops that read thresholds (_lif_simd_loops.h), with a threshold per
 * neuron and, as _uniform, with one for the whole layer. */
#define SPIKECLF_LOOP(name) SPIKECLF_NAME(name)
#define SPIKECLF_TH(i) th[i]
#define SPIKECLF_LO(i) neg_th[i]
#define SPIKECLF_THRESHOLDS
#define SPIKECLF_BOUNDS
#include "_lif_simd_loops.h"
#undef SPIKECLF_LOOP
#undef SPIKECLF_TH
#undef SPIKECLF_LO
#undef SPIKECLF_THRESHOLDS
#undef SPIKECLF_BOUNDS

#define SPIKECLF_LOOP(name) SPIKECLF_NAME(name##_uniform)
#define SPIKECLF_TH(i) th0
#define SPIKECLF_LO(i) lo0
#define SPIKECLF_THRESHOLDS const SPIKECLF_REAL th0 = th[0];
#define SPIKECLF_BOUNDS const SPIKECLF_REAL lo0 = neg_th[0];
#include "_lif_simd_loops.h"
#undef SPIKECLF_LOOP
#undef SPIKECLF_TH
#undef SPIKECLF_LO
#undef SPIKECLF_THRESHOLDS
#undef SPIKECLF_BOUNDS

/* The same with a dynamic weight per neuron, ((t - t_out) / t_ref)^2 during its
 * refractory period and 1 after it, and weights w[i] + offset[i]: in training, the
 * offsets of the neurons whose threshold sits at its lower bound; zeros otherwise.
 * The dynamic weight is computed from the double times and rounded once to
 * SPIKECLF_REAL, as the caller does with the layer-wide one. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_integrate_each)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *offset,
    const SPIKECLF_REAL *th, const SPIKECLF_REAL *neg_th, const double *t_out,
    ptrdiff_t n, SPIKECLF_REAL decay, double t, double t_ref)
{
    SPIKECLF_COUNT at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double dt = t - t_out[i];
        SPIKECLF_REAL w_dyn = (SPIKECLF_REAL)(dt < t_ref ? (dt / t_ref) * (dt / t_ref) : 1.0);
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(
            v[i] * decay + (w[i] + offset[i]) * w_dyn, neg_th[i]);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* The same with offsets and one dynamic weight for every neuron: training, when
 * every neuron's t_out is the layer's latest (a WTA layer) or nobody is
 * refractory (w_dyn = 1, and (w + offset) * 1.0 is exact): the result is
 * spikeclf_integrate_each's, bit for bit, without its per-neuron division. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_integrate_offset_scaled)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *offset,
    const SPIKECLF_REAL *th, const SPIKECLF_REAL *neg_th, ptrdiff_t n,
    SPIKECLF_REAL decay, SPIKECLF_REAL w_dyn)
{
    SPIKECLF_COUNT at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(
            v[i] * decay + (w[i] + offset[i]) * w_dyn, neg_th[i]);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* acc += w[rows[0]] + w[rows[1]] + ...: the inner operation of the event loop
 * alone, the roofline the benchmarks compare the simulator with. */
SPIKECLF_VECTOR static void SPIKECLF_NAME(spikeclf_accumulate_rows)(
    SPIKECLF_REAL *acc, const SPIKECLF_REAL *w, const int *rows, ptrdiff_t n_rows,
    ptrdiff_t n)
{
    for (ptrdiff_t e = 0; e < n_rows; e++) {
        const SPIKECLF_REAL *row = w + rows[e] * n;
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] += row[i];
    }
}
