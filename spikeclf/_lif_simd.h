/* The vector loops of spikeclf/_lif.pyx, in C for two reasons: `#pragma omp
 * simd reduction` lets the compiler vectorize a loop that also counts, which a
 * Cython loop cannot ask for, and `target_clones` builds each loop for AVX2 too
 * and picks the version when the module loads, so one portable binary runs at
 * the speed of the machine (the profile of a 784-800-10 network showed these
 * loops scalar or latency-bound with the baseline SSE2 alone).
 *
 * The arithmetic is the reference simulator's, operation for operation, with no
 * FMA contraction (-ffp-contract=off) and exact integer counts, so results do
 * not depend on the vector width or the machine. */
#ifndef SPIKECLF_LIF_SIMD_H
#define SPIKECLF_LIF_SIMD_H

#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SPIKECLF_VECTOR __attribute__((noinline, target_clones("avx2", "default")))
#else
#define SPIKECLF_VECTOR
#endif

/* The lower bound of a membrane potential, lo = -th. */
static inline double spikeclf_bound(double v, double lo) { return v > lo ? v : lo; }

/* v[i] = max(v[i] * decay + w[i], -th[i]) for every neuron i, given
 * neg_th = -th. Returns the number of neurons at threshold. Counting adds
 * integers, a short dependency chain, where a max of v - th would chain vmaxpd
 * latencies; comparing with th rather than adding neg_th spares one vector op. */
SPIKECLF_VECTOR static ptrdiff_t spikeclf_integrate(double *v, const double *w,
                                                    const double *th, const double *neg_th,
                                                    ptrdiff_t n, double decay)
{
    ptrdiff_t at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double lo = neg_th[i];
        double vi = spikeclf_bound(v[i] * decay + w[i], lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* The same with one dynamic weight w_dyn for every neuron. */
SPIKECLF_VECTOR static ptrdiff_t spikeclf_integrate_scaled(double *v, const double *w,
                                                           const double *th,
                                                           const double *neg_th,
                                                           ptrdiff_t n, double decay,
                                                           double w_dyn)
{
    ptrdiff_t at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double lo = neg_th[i];
        double vi = spikeclf_bound(v[i] * decay + w[i] * w_dyn, lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* The same with a dynamic weight per neuron, ((t - t_out) / t_ref)^2 during its
 * refractory period and 1 after it, and weights w[i] + offset[i]: in training, the
 * offsets of the neurons whose threshold sits at its lower bound; zeros otherwise. */
SPIKECLF_VECTOR static ptrdiff_t spikeclf_integrate_each(
    double *v, const double *w, const double *offset, const double *th,
    const double *neg_th, const double *t_out, ptrdiff_t n, double decay, double t,
    double t_ref)
{
    ptrdiff_t at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double dt = t - t_out[i];
        double w_dyn = dt < t_ref ? (dt / t_ref) * (dt / t_ref) : 1.0;
        double vi = spikeclf_bound(v[i] * decay + (w[i] + offset[i]) * w_dyn, neg_th[i]);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* The same with offsets and one dynamic weight for every neuron: training, when
 * every neuron's t_out is the layer's latest (a WTA layer) or nobody is
 * refractory (w_dyn = 1, and (w + offset) * 1.0 is exact): the result is
 * spikeclf_integrate_each's, bit for bit, without its per-neuron division. */
SPIKECLF_VECTOR static ptrdiff_t spikeclf_integrate_offset_scaled(
    double *v, const double *w, const double *offset, const double *th,
    const double *neg_th, ptrdiff_t n, double decay, double w_dyn)
{
    ptrdiff_t at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double vi = spikeclf_bound(v[i] * decay + (w[i] + offset[i]) * w_dyn, neg_th[i]);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* Lateral inhibition from neuron `winner`: v[i] = max(v[i] + kappa * th[i], -th[i])
 * for every other neuron. Returns the number of neurons at threshold. */
SPIKECLF_VECTOR static ptrdiff_t spikeclf_inhibit(double *v, const double *th,
                                                  const double *neg_th, ptrdiff_t n,
                                                  ptrdiff_t winner, double kappa)
{
    double kept = v[winner];
    ptrdiff_t at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double lo = neg_th[i];
        double vi = spikeclf_bound(v[i] + kappa * th[i], lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    /* The winner is not inhibited: undo its update, and its count. */
    at_threshold -= v[winner] >= th[winner];
    v[winner] = kept;
    at_threshold += kept >= th[winner];
    return at_threshold;
}

/* A lateral inhibition by neuron `winner` left pending at the layer's last
 * event, applied in the same pass as the next event's integration:
 * v[i] = max(max(v[i] + kappa * th[i], -th[i]) * decay + w[i] * w_dyn, -th[i]),
 * the winner itself not inhibited. Returns the number of neurons at threshold. */
SPIKECLF_VECTOR static ptrdiff_t spikeclf_inhibit_integrate(
    double *v, const double *w, const double *th, const double *neg_th, ptrdiff_t n,
    ptrdiff_t winner, double kappa, double decay, double w_dyn)
{
    double kept = v[winner];
    ptrdiff_t at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        double lo = neg_th[i];
        double vi = spikeclf_bound(v[i] + kappa * th[i], lo);
        vi = spikeclf_bound(vi * decay + w[i] * w_dyn, lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    double lo = neg_th[winner];
    double vw = spikeclf_bound(kept * decay + w[winner] * w_dyn, lo);
    at_threshold += (vw >= th[winner]) - (v[winner] >= th[winner]);
    v[winner] = vw;
    return at_threshold;
}

/* The neuron at threshold with the largest v / th, ties to the lowest index,
 * given how many neurons are at threshold (> 0). Blocks are counted with cheap
 * vector compares; only blocks holding a neuron at threshold pay for divisions,
 * and the scan stops once every such neuron was seen. Neurons that fired on
 * this input event are not excluded: the caller checks the result. */
#define SPIKECLF_BLOCK 64
SPIKECLF_VECTOR static ptrdiff_t spikeclf_best_ratio(const double *v, const double *th,
                                                     ptrdiff_t n, ptrdiff_t at_threshold)
{
    ptrdiff_t winner = -1;
    double best = 0.0;
    for (ptrdiff_t start = 0; start < n && at_threshold > 0; start += SPIKECLF_BLOCK) {
        ptrdiff_t stop = start + SPIKECLF_BLOCK < n ? start + SPIKECLF_BLOCK : n;
        if (stop - start == SPIKECLF_BLOCK) {
            ptrdiff_t in_block = 0;
#pragma omp simd reduction(+ : in_block)
            for (ptrdiff_t i = 0; i < SPIKECLF_BLOCK; i++)
                in_block += v[start + i] >= th[start + i];
            if (in_block == 0)
                continue;
        }
        for (ptrdiff_t i = start; i < stop; i++) {
            if (v[i] >= th[i]) {
                double ratio = v[i] / th[i];
                if (winner < 0 || ratio > best) {
                    winner = i;
                    best = ratio;
                }
                at_threshold--;
            }
        }
    }
    return winner;
}

/* acc += w[rows[0]] + w[rows[1]] + ...: the inner operation of the event loop
 * alone, the roofline the benchmarks compare the simulator with. */
SPIKECLF_VECTOR static void spikeclf_accumulate_rows(double *acc, const double *w,
                                                     const int *rows, ptrdiff_t n_rows,
                                                     ptrdiff_t n)
{
    for (ptrdiff_t e = 0; e < n_rows; e++) {
        const double *row = w + rows[e] * n;
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] += row[i];
    }
}

SPIKECLF_VECTOR static void spikeclf_accumulate_rows_f32(float *acc, const float *w,
                                                         const int *rows,
                                                         ptrdiff_t n_rows, ptrdiff_t n)
{
    for (ptrdiff_t e = 0; e < n_rows; e++) {
        const float *row = w + rows[e] * n;
#pragma omp simd
        for (ptrdiff_t i = 0; i < n; i++)
            acc[i] += row[i];
    }
}

#endif
