/* The loops of spikeclf/_lif_simd_body.h that read thresholds, written once
 * for thresholds per neuron and for one threshold per layer: the body includes
 * this file twice per type, with
 *   SPIKECLF_LOOP(name)   the function's name, with or without _uniform;
 *   SPIKECLF_TH(i)        neuron i's threshold: th[i], or th0 = th[0];
 *   SPIKECLF_LO(i)        its lower bound: neg_th[i], or lo0 = neg_th[0];
 *   SPIKECLF_THRESHOLDS   the declaration of th0, or nothing;
 *   SPIKECLF_BOUNDS       the declaration of lo0, or nothing.
 * A layer's potentials in units of their thresholds (weights divided by them:
 * every threshold 1) take the _uniform loops, which read two streams (v, w)
 * where the others read four (11-16 % faster inference, docs/performance.md).
 * th0 and lo0 are variables, not literal constants: GCC left the loops scalar
 * when they compared with (SPIKECLF_REAL)1. Both versions give the same
 * results, bit for bit, when the thresholds are equal. No include guard: on
 * purpose. */

/* v[i] = max(v[i] * decay + w[i], -th[i]) for every neuron i, given
 * neg_th = -th. Returns the number of neurons at threshold. Counting adds
 * integers, a short dependency chain, where a max of v - th would chain vmaxpd
 * latencies; comparing with th rather than adding neg_th spares one vector op. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_LOOP(spikeclf_integrate)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *th,
    const SPIKECLF_REAL *neg_th, ptrdiff_t n, SPIKECLF_REAL decay)
{
    SPIKECLF_COUNT at_threshold = 0;
    SPIKECLF_THRESHOLDS
    SPIKECLF_BOUNDS
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = SPIKECLF_LO(i);
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] * decay + w[i], lo);
        v[i] = vi;
        at_threshold += vi >= SPIKECLF_TH(i);
    }
    return at_threshold;
}

/* The same with one dynamic weight w_dyn for every neuron. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_LOOP(spikeclf_integrate_scaled)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *th,
    const SPIKECLF_REAL *neg_th, ptrdiff_t n, SPIKECLF_REAL decay, SPIKECLF_REAL w_dyn)
{
    SPIKECLF_COUNT at_threshold = 0;
    SPIKECLF_THRESHOLDS
    SPIKECLF_BOUNDS
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = SPIKECLF_LO(i);
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] * decay + w[i] * w_dyn, lo);
        v[i] = vi;
        at_threshold += vi >= SPIKECLF_TH(i);
    }
    return at_threshold;
}

/* Lateral inhibition from neuron `winner`: v[i] = max(v[i] + kappa * th[i], -th[i])
 * for every other neuron. Returns the number of neurons at threshold. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_LOOP(spikeclf_inhibit)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *th, const SPIKECLF_REAL *neg_th, ptrdiff_t n,
    ptrdiff_t winner, SPIKECLF_REAL kappa)
{
    SPIKECLF_REAL kept = v[winner];
    SPIKECLF_COUNT at_threshold = 0;
    SPIKECLF_THRESHOLDS
    SPIKECLF_BOUNDS
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = SPIKECLF_LO(i);
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] + kappa * SPIKECLF_TH(i), lo);
        v[i] = vi;
        at_threshold += vi >= SPIKECLF_TH(i);
    }
    /* The winner is not inhibited: undo its update, and its count. */
    at_threshold -= v[winner] >= SPIKECLF_TH(winner);
    v[winner] = kept;
    at_threshold += kept >= SPIKECLF_TH(winner);
    return at_threshold;
}

/* A lateral inhibition by neuron `winner` left pending at the layer's last
 * event, applied in the same pass as the next event's integration:
 * v[i] = max(max(v[i] + kappa * th[i], -th[i]) * decay + w[i] * w_dyn, -th[i]),
 * the winner itself not inhibited. Returns the number of neurons at threshold. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_LOOP(spikeclf_inhibit_integrate)(
    SPIKECLF_REAL *v, const SPIKECLF_REAL *w, const SPIKECLF_REAL *th,
    const SPIKECLF_REAL *neg_th, ptrdiff_t n, ptrdiff_t winner, SPIKECLF_REAL kappa,
    SPIKECLF_REAL decay, SPIKECLF_REAL w_dyn)
{
    SPIKECLF_REAL kept = v[winner];
    SPIKECLF_COUNT at_threshold = 0;
    SPIKECLF_THRESHOLDS
    SPIKECLF_BOUNDS
#pragma omp simd reduction(+ : at_threshold)
    for (ptrdiff_t i = 0; i < n; i++) {
        SPIKECLF_REAL lo = SPIKECLF_LO(i);
        SPIKECLF_REAL vi = SPIKECLF_NAME(spikeclf_bound)(v[i] + kappa * SPIKECLF_TH(i), lo);
        vi = SPIKECLF_NAME(spikeclf_bound)(vi * decay + w[i] * w_dyn, lo);
        v[i] = vi;
        at_threshold += vi >= SPIKECLF_TH(i);
    }
    SPIKECLF_REAL lo = SPIKECLF_LO(winner);
    SPIKECLF_REAL vw = SPIKECLF_NAME(spikeclf_bound)(kept * decay + w[winner] * w_dyn, lo);
    at_threshold += (vw >= SPIKECLF_TH(winner)) - (v[winner] >= SPIKECLF_TH(winner));
    v[winner] = vw;
    return at_threshold;
}

/* The neuron at threshold with the largest v / th, ties to the lowest index,
 * given how many neurons are at threshold (> 0). Blocks are counted with cheap
 * vector compares; only blocks holding a neuron at threshold pay for divisions,
 * and the scan stops once every such neuron was seen. Neurons that fired on
 * this input event are not excluded: the caller checks the result. The ratio
 * is rounded to SPIKECLF_REAL, as the reference simulator's is. */
SPIKECLF_VECTOR static ptrdiff_t SPIKECLF_LOOP(spikeclf_best_ratio)(
    const SPIKECLF_REAL *v, const SPIKECLF_REAL *th, ptrdiff_t n, ptrdiff_t at_threshold)
{
    ptrdiff_t winner = -1;
    SPIKECLF_REAL best = 0;
    SPIKECLF_THRESHOLDS
    for (ptrdiff_t start = 0; start < n && at_threshold > 0; start += SPIKECLF_BLOCK) {
        ptrdiff_t stop = start + SPIKECLF_BLOCK < n ? start + SPIKECLF_BLOCK : n;
        if (stop - start == SPIKECLF_BLOCK) {
            SPIKECLF_COUNT in_block = 0;
#pragma omp simd reduction(+ : in_block)
            for (ptrdiff_t i = 0; i < SPIKECLF_BLOCK; i++)
                in_block += v[start + i] >= SPIKECLF_TH(start + i);
            if (in_block == 0)
                continue;
        }
        for (ptrdiff_t i = start; i < stop; i++) {
            if (v[i] >= SPIKECLF_TH(i)) {
                SPIKECLF_REAL ratio = v[i] / SPIKECLF_TH(i);
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
