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

/* v[i] = max(v[i] * decay + w[i], -th[i]) for every neuron i, given
 * neg_th = -th. Returns the number of neurons at threshold. Counting adds
 * integers, a short dependency chain, where a max of v - th would chain vmaxpd
 * latencies; comparing with th rather than adding neg_th spares one vector op. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_integrate)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *th,
    const SPIKECLF_REAL *neg_th, ptrdiff_t n, SPIKECLF_REAL decay)
{
    SPIKECLF_COUNT at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = neg_th[i];
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] * decay + w[i], lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

/* The same with one dynamic weight w_dyn for every neuron. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_integrate_scaled)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *th,
    const SPIKECLF_REAL *neg_th, ptrdiff_t n, SPIKECLF_REAL decay, SPIKECLF_REAL w_dyn)
{
    SPIKECLF_COUNT at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = neg_th[i];
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] * decay + w[i] * w_dyn, lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    return at_threshold;
}

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

/* Lateral inhibition from neuron `winner`: v[i] = max(v[i] + kappa * th[i], -th[i])
 * for every other neuron. Returns the number of neurons at threshold. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_inhibit)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *th, const SPIKECLF_REAL *neg_th, ptrdiff_t n,
    ptrdiff_t winner, SPIKECLF_REAL kappa)
{
    SPIKECLF_REAL kept = v[winner];
    SPIKECLF_COUNT at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = neg_th[i];
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] + kappa * th[i], lo);
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
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_inhibit_integrate)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *th,
    const SPIKECLF_REAL *neg_th, ptrdiff_t n, ptrdiff_t winner, SPIKECLF_REAL kappa,
    SPIKECLF_REAL decay, SPIKECLF_REAL w_dyn)
{
    SPIKECLF_REAL kept = v[winner];
    SPIKECLF_COUNT at_threshold = 0;
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = neg_th[i];
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] + kappa * th[i], lo);
        vi = SPIKECLF_NAME(spikeclf_bound)(vi * decay + w[i] * w_dyn, lo);
        v[i] = vi;
        at_threshold += vi >= th[i];
    }
    SPIKECLF_REAL lo = neg_th[winner];
    SPIKECLF_REAL vw = SPIKECLF_NAME(spikeclf_bound)(kept * decay + w[winner] * w_dyn, lo);
    at_threshold += (vw >= th[winner]) - (v[winner] >= th[winner]);
    v[winner] = vw;
    return at_threshold;
}

/* The neuron at threshold with the largest v / th, ties to the lowest index,
 * given how many neurons are at threshold (> 0). Blocks are counted with cheap
 * vector compares; only blocks holding a neuron at threshold pay for divisions,
 * and the scan stops once every such neuron was seen. Neurons that fired on
 * this input event are not excluded: the caller checks the result. The ratio
 * is rounded to SPIKECLF_REAL, as the reference simulator's is. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_NAME(spikeclf_best_ratio)(
    const SPIKECLF_REAL *v, const SPIKECLF_REAL *th, ptrdiff_t n, ptrdiff_t at_threshold)
{
    ptrdiff_t winner = -1;
    SPIKECLF_REAL best = 0;
    for (ptrdiff_t start = 0; start < n && at_threshold > 0; start += SPIKECLF_BLOCK) {
        ptrdiff_t stop = start + SPIKECLF_BLOCK < n ? start + SPIKECLF_BLOCK : n;
        if (stop - start == SPIKECLF_BLOCK) {
            SPIKECLF_COUNT in_block = 0;
#pragma omp simd reduction(+ : in_block)
            for (ptrdiff_t i = 0; i < SPIKECLF_BLOCK; i++)
                in_block += v[start + i] >= th[start + i];
            if (in_block == 0)
                continue;
        }
        for (ptrdiff_t i = start; i < stop; i++) {
            if (v[i] >= th[i]) {
                SPIKECLF_REAL ratio = v[i] / th[i];
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
