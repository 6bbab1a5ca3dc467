# The body of spikeclf._lif (real = double) and spikeclf._lif32 (real = float),
# typed on `real`, the type of membrane potentials, weights and thresholds that
# the module's .pxd defines; one source, so the two cannot drift apart. Times
# stay double. A decay factor or dynamic weight is computed in double from the
# times (exp of a double time difference) and rounded to `real` once per event:
# rounding the time difference to float32 instead would lose microseconds
# against times of up to seconds, while one rounding of the factor costs half
# an ulp of `real`, like any other operation on the potentials.

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, exp
from libc.stdlib cimport calloc, free, realloc

import numpy as np

cimport numpy as cnp

cnp.import_array()


cdef extern from "_lif_simd.h" nogil:
    void *spikeclf_aligned_zeros(size_t n)
    # Macros choosing the double or float loop by the type of v (_lif_simd.h).
    Py_ssize_t spikeclf_integrate(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay)
    Py_ssize_t spikeclf_integrate_scaled(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay, real w_dyn)
    Py_ssize_t spikeclf_inhibit(
        real *v, const real *th, const real *neg_th, Py_ssize_t n,
        Py_ssize_t winner, real kappa)
    Py_ssize_t spikeclf_inhibit_integrate(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        Py_ssize_t winner, real kappa, real decay, real w_dyn)
    Py_ssize_t spikeclf_integrate_offset_scaled(
        real *v, const real *w, const real *offset, const real *th,
        const real *neg_th, Py_ssize_t n, real decay, real w_dyn)
    Py_ssize_t spikeclf_integrate_each(
        real *v, const real *w, const real *offset, const real *th,
        const real *neg_th, const double *t_out, Py_ssize_t n, real decay, double t,
        double t_ref)
    Py_ssize_t spikeclf_best_ratio(
        const real *v, const real *th, Py_ssize_t n, Py_ssize_t at_threshold)
    # The same loops for a layer whose neurons share one threshold, th[0].
    Py_ssize_t spikeclf_integrate_uniform(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay)
    Py_ssize_t spikeclf_integrate_scaled_uniform(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay, real w_dyn)
    Py_ssize_t spikeclf_inhibit_uniform(
        real *v, const real *th, const real *neg_th, Py_ssize_t n,
        Py_ssize_t winner, real kappa)
    Py_ssize_t spikeclf_inhibit_integrate_uniform(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        Py_ssize_t winner, real kappa, real decay, real w_dyn)
    Py_ssize_t spikeclf_best_ratio_uniform(
        const real *v, const real *th, Py_ssize_t n, Py_ssize_t at_threshold)


# The loops of a layer, in their _uniform version when its neurons share one
# threshold (bit for bit the same results, two arrays read instead of four).
cdef inline Py_ssize_t _integrate(Layer *L, const real *w, real decay) noexcept nogil:
    if L.uniform_th:
        return spikeclf_integrate_uniform(L.v, w, L.th, L.neg_th, L.n_out, decay)
    return spikeclf_integrate(L.v, w, L.th, L.neg_th, L.n_out, decay)


cdef inline Py_ssize_t _integrate_scaled(
    Layer *L, const real *w, real decay, real w_dyn,
) noexcept nogil:
    if L.uniform_th:
        return spikeclf_integrate_scaled_uniform(
            L.v, w, L.th, L.neg_th, L.n_out, decay, w_dyn)
    return spikeclf_integrate_scaled(L.v, w, L.th, L.neg_th, L.n_out, decay, w_dyn)


cdef inline Py_ssize_t _inhibit(Layer *L, Py_ssize_t winner) noexcept nogil:
    if L.uniform_th:
        return spikeclf_inhibit_uniform(
            L.v, L.th, L.neg_th, L.n_out, winner, <real> L.kappa)
    return spikeclf_inhibit(L.v, L.th, L.neg_th, L.n_out, winner, <real> L.kappa)


cdef inline Py_ssize_t _inhibit_integrate(
    Layer *L, const real *w, real decay, real w_dyn,
) noexcept nogil:
    """The pending inhibition of the layer and the integration of one event."""
    if L.uniform_th:
        return spikeclf_inhibit_integrate_uniform(
            L.v, w, L.th, L.neg_th, L.n_out, L.pending, <real> L.kappa, decay, w_dyn)
    return spikeclf_inhibit_integrate(
        L.v, w, L.th, L.neg_th, L.n_out, L.pending, <real> L.kappa, decay, w_dyn)


cdef inline Py_ssize_t _next_winner(const Layer *L, Py_ssize_t at_threshold) noexcept nogil:
    """Neuron at threshold, not yet fired on this event, with the largest V / V_th."""
    if at_threshold == 0:
        return -1
    cdef Py_ssize_t winner
    if L.uniform_th:
        winner = spikeclf_best_ratio_uniform(L.v, L.th, L.n_out, at_threshold)
    else:
        winner = spikeclf_best_ratio(L.v, L.th, L.n_out, at_threshold)
    # A neuron that already fired on this event is at threshold again only when
    # its potential was above twice its threshold: then search among the others.
    return _best_unfired(L) if winner >= 0 and L.fired[winner] else winner


cdef Py_ssize_t _best_unfired(const Layer *L) noexcept nogil:
    cdef Py_ssize_t i, winner = -1
    cdef real best = 0.0, ratio
    for i in range(L.n_out):
        if L.v[i] >= L.th[i] and not L.fired[i]:
            ratio = L.v[i] / L.th[i]
            if winner < 0 or ratio > best:  # strict: ties go to the lowest index
                winner = i
                best = ratio
    return winner


cdef inline real _layer_w_dyn(double dt, double t_ref) noexcept nogil:
    """The dynamic weight ((t - t_out) / T_ref)^2 of neurons refractory since dt
    ago, 1 after T_ref; computed in double and rounded once."""
    return <real> ((dt / t_ref) * (dt / t_ref)) if dt < t_ref else 1.0


cdef inline double _decay_factor(const Layer *L, double dt) noexcept nogil:
    """exp(-dt / tau); from the layer's table when dt is a whole number of
    microseconds in it (event times usually are), which is the same number:
    the table holds exp(-k / tau), computed alike. exp was 3-4 % of an
    inference in the profile."""
    if dt < DECAY_TABLE and dt == <double> <int> dt:
        return L.decay[<int> dt]
    return exp(-dt / L.tau)


cdef void _deliver(
    Layer *layers, Py_ssize_t n_layers, Py_ssize_t l, Py_ssize_t k, double t,
    Recorder *rec,
) noexcept nogil:
    """Process one input event (channel k, time t) in layer l and everything it causes."""
    cdef Layer *L = &layers[l]
    cdef Py_ssize_t i, n = L.n_out, n_spiked = 0, winner, s
    cdef const real *w = L.w + k * n
    cdef const real *th = L.th
    cdef real *v = L.v
    cdef real decay = 1.0, w_dyn
    cdef double dt
    cdef Py_ssize_t at_threshold

    if L.x != NULL:
        if L.x_t[k] == -INFINITY:
            L.active_in[L.n_active_in] = <int32> k
            L.n_active_in += 1
        _accumulate(&L.x[k], &L.x_t[k], t, L.activity_tau)
    if t > L.t_last:
        decay = <real> _decay_factor(L, t - L.t_last)
        L.t_last = t
    dt = t - L.last_t_out
    if L.training:
        # Weights carry the offsets of the threshold lower bound, and every neuron
        # keeps its own t_out; one w_dyn serves the layer when nobody is
        # refractory, or in a WTA layer, where every spike sets every t_out (the
        # per-neuron loop was 80 % of a training epoch in the profile).
        if dt >= L.t_ref or L.kappa != 0.0:
            w_dyn = _layer_w_dyn(dt, L.t_ref)
            at_threshold = spikeclf_integrate_offset_scaled(
                v, w, L.offset, th, L.neg_th, n, decay, w_dyn)
        else:
            at_threshold = spikeclf_integrate_each(
                v, w, L.offset, th, L.neg_th, L.t_out, n, decay, t, L.t_ref)
    elif L.pending >= 0:
        # The inhibition left by the last spike of this WTA layer, in the same pass.
        w_dyn = _layer_w_dyn(dt, L.t_ref)
        at_threshold = _inhibit_integrate(L, w, decay, w_dyn)
        L.pending = -1
    elif dt >= L.t_ref:
        # Nobody is refractory: t - t_out[i] is at least dt, rounding included.
        at_threshold = _integrate(L, w, decay)
    elif L.kappa != 0.0:
        # A WTA group: every spike makes every neuron refractory at once, so all
        # t_out[i] equal last_t_out and one w_dyn serves the whole layer.
        w_dyn = _layer_w_dyn(dt, L.t_ref)
        at_threshold = _integrate_scaled(L, w, decay, w_dyn)
    else:
        at_threshold = spikeclf_integrate_each(
            v, w, L.offset, th, L.neg_th, L.t_out, n, decay, t, L.t_ref)
    L.synops += n

    # Fire in order of decreasing V / V_th, re-checking after each inhibition;
    # at most one spike per neuron per input event.
    winner = _next_winner(L, at_threshold)
    while winner >= 0:
        L.fired[winner] = 1
        L.spiked[n_spiked] = <int32> winner
        n_spiked += 1
        if L.reset_to_zero:
            v[winner] = 0.0
        else:
            v[winner] -= th[winner]
        L.t_out[winner] = t
        L.last_t_out = t
        if L.kappa != 0.0:
            L.inhibitions += n - 1
            if at_threshold == 1 and not L.training:
                # The winner was the only neuron at threshold, and inhibition only
                # lowers the others: nobody else fires on this event, so the
                # inhibition can wait for the next pass over the layer.
                L.pending = winner
                at_threshold = 0
            else:
                at_threshold = _inhibit(L, winner)
                if L.training:
                    for i in range(n):
                        L.t_out[i] = t
        elif v[winner] < th[winner]:
            at_threshold -= 1
        winner = _next_winner(L, at_threshold)
    for s in range(n_spiked):
        L.fired[L.spiked[s]] = 0
    if L.rho > 0.0 and n_spiked > 0:
        _regularize_thresholds(L, n_spiked)

    for s in range(n_spiked):
        i = L.spiked[s]
        if L.a != NULL:
            if L.a_t[i] == -INFINITY:
                L.active_out[L.n_active_out] = <int32> i
                L.n_active_out += 1
            _accumulate(&L.a[i], &L.a_t[i], t, L.activity_tau)
        if l + 1 < n_layers:
            _deliver(layers, n_layers, l + 1, i, t, rec)
        else:
            rec.counts[i] += 1
            if rec.n_spikes < rec.capacity:
                rec.spike_t[rec.n_spikes] = t
                rec.spike_i[rec.n_spikes] = <int32> i
            rec.n_spikes += 1


cdef void _regularize_thresholds(Layer *L, Py_ssize_t n_spiked) noexcept nogil:
    """Threshold regularization (paper 2.3.2), in the forward pass of training.

    The n_spiked neurons that fired on one input event rise by rho * N, then every
    threshold falls by rho * n_spiked. A threshold that would fall below its lower
    bound stays there and the neuron's weights rise by the rest instead.
    """
    cdef Py_ssize_t i, n = L.n_out
    cdef real lowered
    for i in range(n_spiked):
        L.th[L.spiked[i]] += L.rho * n
    for i in range(n):
        lowered = L.th[i] - L.rho * n_spiked
        if lowered < L.th_min[i]:
            L.offset[i] += L.th_min[i] - lowered
            lowered = L.th_min[i]
        L.th[i] = lowered
        L.neg_th[i] = -lowered


cdef void _settle(Layer *L) noexcept nogil:
    """Apply a pending lateral inhibition, before the potentials are read."""
    if L.pending >= 0:
        _inhibit(L, L.pending)
        L.pending = -1


cdef void _reset(Layer *layers, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l, i
    cdef Layer *L
    for l in range(n_layers):
        L = &layers[l]
        L.t_last = 0.0
        L.last_t_out = -INFINITY
        L.pending = -1
        L.synops = 0
        L.inhibitions = 0
        for i in range(L.n_out):
            L.v[i] = 0.0
            L.t_out[i] = -INFINITY
            L.fired[i] = 0
        if L.x != NULL:
            for i in range(L.n_in):
                L.x[i] = 0.0
                L.x_t[i] = -INFINITY
            for i in range(L.n_out):
                L.a[i] = 0.0
                L.a_t[i] = -INFINITY
            L.n_active_in = 0
            L.n_active_out = 0


cdef double _decayed(double value, double when, double t, double tau) noexcept nogil:
    if when == -INFINITY:
        return 0.0
    return value * exp((when - t) / tau)


cdef Layer *_make_layers(
    Py_ssize_t n_layers, const int64[::1] sizes, const real **weights,
    real **thresholds, const double[::1] tau, const double[::1] t_ref,
    const double[::1] kappa, bint train,
) noexcept nogil:
    """Allocate one thread's layers and their zeroed state; NULL when out of memory.

    Every allocation starts a cache line of its own and fills whole lines: the
    state is written on every event, and another thread's state allocated next
    to it would share a line with it (false sharing slowed a two-thread
    training kernel below one thread's speed).
    """
    cdef Layer *layers = <Layer *> spikeclf_aligned_zeros(n_layers * sizeof(Layer))
    cdef Py_ssize_t l, i
    cdef bint ok = layers != NULL
    if not ok:
        return NULL
    for l in range(n_layers):
        layers[l].n_in = sizes[l]
        layers[l].n_out = sizes[l + 1]
        layers[l].w = weights[l]
        layers[l].th = thresholds[l]
        layers[l].tau = tau[l]
        layers[l].activity_tau = tau[l]
        layers[l].t_ref = t_ref[l]
        layers[l].kappa = kappa[l]
        layers[l].v = <real *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(real))
        layers[l].neg_th = <real *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(real))
        layers[l].t_out = <double *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(double))
        layers[l].decay = <double *> spikeclf_aligned_zeros(DECAY_TABLE * sizeof(double))
        layers[l].spiked = <int32 *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(int32))
        layers[l].fired = <uint8 *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(uint8))
        # Zeros, until training points offset at its own array.
        layers[l].own_offset = <real *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(real))
        layers[l].offset = layers[l].own_offset
        ok = ok and layers[l].v != NULL and layers[l].t_out != NULL
        ok = ok and layers[l].decay != NULL
        if ok:
            for i in range(DECAY_TABLE):
                layers[l].decay[i] = exp(-<double> i / tau[l])
        ok = ok and layers[l].neg_th != NULL and layers[l].offset != NULL
        if ok:
            for i in range(sizes[l + 1]):
                layers[l].neg_th[i] = -thresholds[l][i]
        ok = ok and layers[l].spiked != NULL and layers[l].fired != NULL
        if train:
            layers[l].x = <double *> spikeclf_aligned_zeros(sizes[l] * sizeof(double))
            layers[l].x_t = <double *> spikeclf_aligned_zeros(sizes[l] * sizeof(double))
            layers[l].a = <double *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(double))
            layers[l].a_t = <double *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(double))
            layers[l].active_in = <int32 *> spikeclf_aligned_zeros(sizes[l] * sizeof(int32))
            layers[l].active_out = <int32 *> spikeclf_aligned_zeros(sizes[l + 1] * sizeof(int32))
            ok = ok and layers[l].x != NULL and layers[l].x_t != NULL
            ok = ok and layers[l].a != NULL and layers[l].a_t != NULL
            ok = ok and layers[l].active_in != NULL and layers[l].active_out != NULL
    if not ok:
        _free_layers(layers, n_layers)
        return NULL
    return layers


cdef void _free_layers(Layer *layers, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l
    if layers == NULL:
        return
    for l in range(n_layers):
        free(layers[l].v)
        free(layers[l].neg_th)
        free(layers[l].t_out)
        free(layers[l].decay)
        free(layers[l].spiked)
        free(layers[l].fired)
        free(layers[l].own_offset)
        free(layers[l].x)
        free(layers[l].x_t)
        free(layers[l].a)
        free(layers[l].a_t)
        free(layers[l].active_in)
        free(layers[l].active_out)
    free(layers)


cdef int check_length(str name, Py_ssize_t length, Py_ssize_t expected) except -1:
    if length != expected:
        raise ValueError(f"kernel input {name}: length {length}, expected {expected}")
    return 0


cdef int check_shape(str name, tuple shape, tuple expected) except -1:
    if shape != expected:
        raise ValueError(f"kernel input {name}: shape {shape}, expected {expected}")
    return 0


cdef int check_inputs(
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, const int64[::1] sizes, list weights, list thresholds,
    list per_layer, const int64[::1] samples=None,
) except -1:
    """Check what the nogil loops index by: once per call, O(events + layers).

    per_layer: (n_layers,) arrays such as tau, t_ref, kappa. samples: the
    samples the call will visit (valid indices; checked by the caller), whose
    channels alone are scanned; None for all.
    """
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1, n_samples = indptr.shape[0] - 1
    cdef Py_ssize_t l, e, j, bad = -1
    cdef int64 n_in
    if n_layers < 1 or n_samples < 0 or sizes.shape[0] < 2:
        raise ValueError("kernel input: need at least one layer and an indptr")
    for l in range(n_layers + 1):
        if sizes[l] < 1:
            raise ValueError(f"kernel input sizes: layer sizes must be positive, got {np.asarray(sizes)}")
    check_length("weights", len(weights), n_layers)
    check_length("thresholds", len(thresholds), n_layers)
    for l in range(n_layers):
        check_shape(f"weights[{l}]", np.shape(weights[l]), (sizes[l], sizes[l + 1]))
        check_shape(f"thresholds[{l}]", np.shape(thresholds[l]), (sizes[l + 1],))
    for l in range(len(per_layer)):
        check_length(f"per-layer array {l}", len(per_layer[l]), n_layers)
    check_length("t", t.shape[0], channel.shape[0])
    check_length("t_end", t_end.shape[0], n_samples)
    if indptr[0] != 0 or indptr[n_samples] != channel.shape[0]:
        raise ValueError(
            f"kernel input indptr: must run from 0 to {channel.shape[0]} events, got "
            f"{indptr[0]} to {indptr[n_samples]}"
        )
    for l in range(n_samples):
        if indptr[l + 1] < indptr[l]:
            raise ValueError(f"kernel input indptr: decreases at sample {l}")
    n_in = sizes[0]
    with nogil:
        if samples is None:
            bad = _first_outside(channel, 0, channel.shape[0], n_in)
        else:
            for j in range(samples.shape[0]):
                l = samples[j]
                bad = _first_outside(channel, indptr[l], indptr[l + 1], n_in)
                if bad >= 0:
                    break
    if bad >= 0:
        raise ValueError(
            f"kernel input channel: event {bad} has channel {channel[bad]}, outside "
            f"0..{n_in - 1}"
        )
    return 0


cdef inline Py_ssize_t _first_outside(
    const int32[::1] channel, Py_ssize_t start, Py_ssize_t stop, int64 n_in,
) noexcept nogil:
    """Index of the first channel in [start, stop) outside 0..n_in-1, or -1."""
    cdef Py_ssize_t e
    for e in range(start, stop):
        if channel[e] < 0 or channel[e] >= n_in:
            return e
    return -1


def simulate(
    const int32[::1] channel,
    const double[::1] t,
    const int64[::1] indptr,
    const double[::1] t_end,
    const int64[::1] sizes,
    list weights,
    list thresholds,
    const double[::1] tau,
    const double[::1] t_ref,
    const double[::1] kappa,
    bint reset_to_zero,
    bint lower_bound,
    int64[:, ::1] counts,
    double[:, ::1] v_end,
    int64[:, ::1] synops,
    int64[:, ::1] inhibitions,
    double[:, ::1] spike_t,
    int32[:, ::1] spike_i,
    int64[::1] n_spikes,
    double[:, ::1] x_end,
    double[:, ::1] a_end,
    int n_threads,
):
    """Simulate every sample; write per-sample results into the output arrays.

    Parameters
    ----------
    channel, t, indptr : packed events (see spikeclf.events.PackedEvents), t in us.
    t_end : (n_samples,) time at which each sample stops and is read; later
        events are not processed.
    sizes : (n_layers + 1,) n_in of layer 0, then n_out of each layer.
    weights : one C-contiguous (n_in, n_out) array per layer, of the module's
        type: float64 in spikeclf._lif, float32 in spikeclf._lif32.
    thresholds : one C-contiguous (n_out,) array per layer, of the same type.
    tau, t_ref, kappa : (n_layers,) time constant and refractory period in us,
        lateral inhibition strength (0: no winner-take-all).
    reset_to_zero, lower_bound : the paper's neuron has a subtractive reset and
        a lower bound at -V_th (False, True); the LIF neuron of NIR resets to 0
        and has no lower bound (True, False).
    counts, v_end : (n_samples, n_out of the last layer) output spike counts and
        membrane potentials at t_end.
    synops, inhibitions : (n_samples, n_layers) operation counts.
    spike_t, spike_i : (n_samples, capacity) output spikes in order; capacity may
        be 0. n_spikes : (n_samples,) number of output spikes (may exceed capacity:
        only the first ``capacity`` are written).
    x_end, a_end : (n_samples, sum of n_in) and (n_samples, sum of n_out) input
        and output activities of Eq. 4 at t_end, layer after layer; pass arrays
        with 0 rows to skip this training-only work (required by the float32
        kernel, which is for inference only).
    n_threads : threads simulating samples in parallel (results do not depend on it).

    Returns
    -------
    status : int
        0, or -1 when memory ran out.
    """
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1
    cdef bint train = x_end.shape[0] > 0
    cdef Py_ssize_t sample
    cdef Layer *layers = NULL
    cdef int[1] out_of_memory
    cdef const real **w_ptr = NULL
    cdef real **th_ptr = NULL
    cdef const real[:, ::1] w_view
    cdef const real[::1] th_view
    cdef Py_ssize_t l, n_out
    check_inputs(channel, t, indptr, t_end, sizes, weights, thresholds, [tau, t_ref, kappa])
    if train and sizeof(real) != sizeof(double):
        # Training and its activities stay float64 (spikeclf._backward).
        raise ValueError("the float32 kernel simulates for inference only: pass x_end and a_end with 0 rows")
    n_out = sizes[n_layers]
    check_shape("counts", (counts.shape[0], counts.shape[1]), (n_samples, n_out))
    check_shape("v_end", (v_end.shape[0], v_end.shape[1]), (n_samples, n_out))
    check_shape("synops", (synops.shape[0], synops.shape[1]), (n_samples, n_layers))
    check_shape("inhibitions", (inhibitions.shape[0], inhibitions.shape[1]), (n_samples, n_layers))
    check_shape("spike_i", (spike_i.shape[0], spike_i.shape[1]), (spike_t.shape[0], spike_t.shape[1]))
    if spike_t.shape[1] > 0:
        check_length("spike_t", spike_t.shape[0], n_samples)
    check_length("n_spikes", n_spikes.shape[0], n_samples)
    if train:
        check_shape("x_end", (x_end.shape[0], x_end.shape[1]), (n_samples, int(np.sum(sizes[:n_layers]))))
        check_shape("a_end", (a_end.shape[0], a_end.shape[1]), (n_samples, int(np.sum(sizes[1:]))))
    w_ptr = <const real **> calloc(n_layers, sizeof(real *))
    th_ptr = <real **> calloc(n_layers, sizeof(real *))
    out_of_memory[0] = w_ptr == NULL or th_ptr == NULL
    if not out_of_memory[0]:
        # The arrays stay alive in the caller's lists while the threads run.
        for l in range(n_layers):
            w_view = weights[l]
            th_view = thresholds[l]
            w_ptr[l] = &w_view[0, 0]
            th_ptr[l] = <real *> &th_view[0]  # read only at inference
        with nogil, parallel(num_threads=n_threads):
            layers = _make_layers(n_layers, sizes, w_ptr, th_ptr, tau, t_ref, kappa, train)
            if layers == NULL:
                out_of_memory[0] = 1
            else:
                _set_reset_and_bound(layers, n_layers, reset_to_zero, lower_bound)
                _find_uniform_thresholds(layers, n_layers)
                for sample in prange(n_samples, schedule="dynamic"):
                    _run_sample(
                        layers, n_layers, sample, channel, t, indptr, t_end, counts,
                        v_end, synops, inhibitions, spike_t, spike_i, n_spikes, x_end,
                        a_end,
                    )
                _free_layers(layers, n_layers)
    free(w_ptr)
    free(th_ptr)
    return -1 if out_of_memory[0] else 0


cdef void _set_reset_and_bound(
    Layer *layers, Py_ssize_t n_layers, bint reset_to_zero, bint lower_bound,
) noexcept nogil:
    cdef Py_ssize_t l, i
    for l in range(n_layers):
        layers[l].reset_to_zero = reset_to_zero
        if not lower_bound:
            for i in range(layers[l].n_out):
                layers[l].neg_th[i] = -INFINITY


cdef void _find_uniform_thresholds(Layer *layers, Py_ssize_t n_layers) noexcept nogil:
    """Mark the layers whose neurons share one threshold (then one lower bound:
    -th, or -inf for all). For inference only: training changes thresholds."""
    cdef Py_ssize_t l, i
    for l in range(n_layers):
        layers[l].uniform_th = True
        for i in range(1, layers[l].n_out):
            if layers[l].th[i] != layers[l].th[0]:
                layers[l].uniform_th = False
                break


cdef void _run_sample(
    Layer *layers, Py_ssize_t n_layers, Py_ssize_t sample,
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, int64[:, ::1] counts, double[:, ::1] v_end,
    int64[:, ::1] synops, int64[:, ::1] inhibitions, double[:, ::1] spike_t,
    int32[:, ::1] spike_i, int64[::1] n_spikes, double[:, ::1] x_end,
    double[:, ::1] a_end,
) noexcept nogil:
    cdef Recorder rec
    cdef Py_ssize_t e, l, i, off_in = 0, off_out = 0
    cdef double stop = t_end[sample], tau_a
    cdef Layer *L
    _reset(layers, n_layers)
    rec.counts = &counts[sample, 0]
    rec.capacity = spike_t.shape[1]
    rec.spike_t = &spike_t[sample, 0] if rec.capacity > 0 else NULL
    rec.spike_i = &spike_i[sample, 0] if rec.capacity > 0 else NULL
    rec.n_spikes = 0
    for e in range(indptr[sample], indptr[sample + 1]):
        if t[e] > stop:
            break
        _deliver(layers, n_layers, 0, channel[e], t[e], &rec)
    n_spikes[sample] = rec.n_spikes
    for l in range(n_layers):
        L = &layers[l]
        _settle(L)
        synops[sample, l] = L.synops
        inhibitions[sample, l] = L.inhibitions
        if L.x != NULL:
            tau_a = L.activity_tau
            for i in range(L.n_in):
                x_end[sample, off_in + i] = _decayed(L.x[i], L.x_t[i], stop, tau_a)
            for i in range(L.n_out):
                a_end[sample, off_out + i] = _decayed(L.a[i], L.a_t[i], stop, tau_a)
        off_in += L.n_in
        off_out += L.n_out
    L = &layers[n_layers - 1]
    for i in range(L.n_out):
        v_end[sample, i] = L.v[i] * exp((L.t_last - stop) / L.tau)


# ---------------------------------------------------------------- streaming
cdef class StreamBase:
    """One network's state kept between calls: the base of the streaming kernels.

    ``push`` runs the next events of one stream through the network;
    ``run_early`` simulates whole samples and stops each once a margin rule
    decides it. Subclasses (DenseStream, spikeclf._conv.ConvStream) implement
    how an input event enters their network (_event), how the output layer is
    read without changing it (_read), the reset and the operation counts.
    """

    def __dealloc__(self):
        free(self.own_rec.counts)
        free(self.own_rec.spike_t)
        free(self.own_rec.spike_i)
        free(self.tally)

    cdef int _start(self, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t n_layers,
                    Py_ssize_t per_event) except -1:
        """Allocate the counts and the spike record once the network exists
        (self.rec set); per_event: the output spikes one event may cause."""
        self.n_in, self.n_out, self.n_layers = n_in, n_out, n_layers
        self.per_event = min(max(per_event, 1), <Py_ssize_t> MAX_SPIKES_PER_EVENT)
        self.own_rec.counts = <int64 *> calloc(n_out, sizeof(int64))
        self.tally = <int64 *> calloc(n_out, sizeof(int64))
        if self.own_rec.counts == NULL or self.tally == NULL:
            raise MemoryError("not enough memory for the stream's state")
        self.rec.counts = self.own_rec.counts
        self.rec.capacity = 0
        self.rec.spike_t = NULL
        self.rec.spike_i = NULL
        self._restart()
        return 0

    cdef int _reserve(self) noexcept nogil:
        """Room in the spike record for the spikes of one more input event; -1
        when memory ran out."""
        cdef Py_ssize_t need = self.rec.n_spikes + self.per_event, capacity
        cdef double *spike_t
        cdef int32 *spike_i
        if need <= self.rec.capacity:
            return 0
        capacity = max(2 * self.rec.capacity, need)
        spike_t = <double *> realloc(self.own_rec.spike_t, capacity * sizeof(double))
        if spike_t == NULL:
            return -1
        self.own_rec.spike_t = spike_t
        spike_i = <int32 *> realloc(self.own_rec.spike_i, capacity * sizeof(int32))
        if spike_i == NULL:
            return -1
        self.own_rec.spike_i = spike_i
        self.rec.spike_t, self.rec.spike_i = spike_t, spike_i
        self.rec.capacity = capacity
        return 0

    cdef void _restart(self) noexcept nogil:
        cdef Py_ssize_t i
        self._restart_network()
        for i in range(self.n_out):
            self.own_rec.counts[i] = 0
            self.tally[i] = 0
        self.rec.n_spikes = 0
        self.t_now = 0.0
        self.n_pushed = 0
        self.overflowed = False

    cdef void _event(self, Py_ssize_t k, double t) noexcept nogil:
        pass

    cdef void _restart_network(self) noexcept nogil:
        pass

    cdef void _read(self, double *v, double stop) noexcept nogil:
        pass

    cdef void _operations(self, int64 *synops, int64 *inhibitions) noexcept nogil:
        pass

    def reset(self):
        """Start a new stream: every neuron at rest, no spikes, time 0."""
        self._restart()

    def push(self, const int32[::1] channel, const double[::1] t):
        """Run the next events of the stream (t in us, sorted, none before the
        last event pushed); return the number of output spikes they caused,
        whose times and neurons :meth:`last_spikes` then returns."""
        cdef Py_ssize_t e, n = channel.shape[0], bad
        cdef int status = 0
        check_length("t", t.shape[0], n)
        bad = _first_outside(channel, 0, n, self.n_in)
        if bad >= 0:
            raise ValueError(
                f"kernel input channel: event {bad} has channel {channel[bad]}, "
                f"outside 0..{self.n_in - 1}"
            )
        if n > 0 and t[0] < self.t_now:
            raise ValueError(
                f"kernel input t: the first event, at {t[0]} us, is before the last "
                f"event pushed, at {self.t_now} us"
            )
        self.rec.n_spikes = 0
        with nogil:
            for e in range(n):
                if self._reserve() != 0:
                    status = -1
                    break
                self._event(channel[e], t[e])
                self.t_now = t[e]
                self.n_pushed += 1
                if self.rec.n_spikes > self.rec.capacity:
                    self.overflowed = True
        if status != 0:
            raise MemoryError("not enough memory for the stream's spike record")
        return self.rec.n_spikes

    def pack_chunk(
        self, const int64[::1] x, const int64[::1] y, const int64[::1] p,
        const double[::1] t, int64 width, int64 height, int64 polarities,
        int32[::1] channel,
    ):
        """Check a chunk's fields and write its channels (p * height + y) * width + x.

        Returns 0 when every event is valid: t finite, non-negative, sorted and
        none before the last event pushed, coordinates and polarities on the
        sensor; 1 when one is not (the caller names the problem); 2 when the
        chunk is valid alone but starts before the last event pushed.
        """
        cdef Py_ssize_t e, n = t.shape[0]
        cdef int status = 0
        check_length("y", y.shape[0], n)
        check_length("x", x.shape[0], n)
        check_length("p", p.shape[0], n)
        check_length("channel", channel.shape[0], n)
        with nogil:
            for e in range(n):
                if not (t[e] >= 0.0 and t[e] < INFINITY) or (e > 0 and t[e] < t[e - 1]):
                    status = 1
                elif not (0 <= x[e] < width and 0 <= y[e] < height and 0 <= p[e] < polarities):
                    status = 1
                else:
                    channel[e] = <int32> ((p[e] * height + y[e]) * width + x[e])
                    continue
                break
        if status == 0 and n > 0 and t[0] < self.t_now:
            status = 2
        return status

    def last_spikes(self):
        """Times (us) and neurons of the output spikes of the last push, as new arrays."""
        cdef Py_ssize_t s, n = min(self.rec.n_spikes, self.rec.capacity)
        times, neurons = np.empty(n), np.empty(n, dtype=np.int32)
        cdef double[::1] t_view = times
        cdef int32[::1] i_view = neurons
        for s in range(n):
            t_view[s] = self.rec.spike_t[s]
            i_view[s] = self.rec.spike_i[s]
        return times, neurons

    def counts(self):
        """Output spike counts since the last reset, as a new int64 array."""
        out = np.empty(self.n_out, dtype=np.int64)
        cdef int64[::1] view = out
        cdef Py_ssize_t i
        for i in range(self.n_out):
            view[i] = self.own_rec.counts[i]
        return out

    def potentials(self, double stop):
        """Output-layer potentials at time stop (us, not before the last update),
        as predict reads them; the state does not change."""
        out = np.empty(self.n_out)
        cdef double[::1] view = out
        self._read(&view[0], stop)
        return out

    def operations(self):
        """Synaptic operations and lateral-inhibition updates per layer so far."""
        synops = np.zeros(self.n_layers, dtype=np.int64)
        inhibitions = np.zeros(self.n_layers, dtype=np.int64)
        cdef int64[::1] s_view = synops, i_view = inhibitions
        self._operations(&s_view[0], &i_view[0])
        return synops, inhibitions

    @property
    def time(self):
        """Time (us) of the last event pushed; 0 before any."""
        return self.t_now

    @property
    def n_events(self):
        """Events pushed since the last reset."""
        return self.n_pushed

    @property
    def overflow(self):
        """Whether an input event caused more output spikes than the record
        plans for (then the recorded spikes miss some; counts do not)."""
        return self.overflowed

    def run_early(
        self,
        const int32[::1] channel,
        const double[::1] t,
        const int64[::1] indptr,
        const double[::1] t_end,
        const int64[::1] margins,
        int64[:, :, ::1] counts,
        double[:, :, ::1] v_end,
        int64[:, :, ::1] synops,
        int64[:, :, ::1] inhibitions,
        double[:, ::1] decision_t,
        uint8[:, ::1] decided,
    ):
        """Simulate every sample, deciding it by each margin rule on its way.

        Margin rule m: a sample is decided at the first output spike after
        which the neuron that fired leads every other by at least m spikes
        (output spike counts since the sample began). The input event that
        caused that spike is processed to its end, then the sample is read
        for that margin: counts as they were at the deciding spike, potentials
        at the event's time, operations up to its end. A sample stops once the
        largest margin is decided; a margin it never reaches is read at
        t_end, as simulate reads the whole sample.

        Parameters
        ----------
        channel, t, indptr, t_end : packed events and stop times (us), as in simulate.
        margins : (n_margins,) ascending, at least 1.
        counts, v_end : (n_samples, n_margins, n_out) output spike counts and
            potentials at each margin's decision.
        synops, inhibitions : (n_samples, n_margins, n_layers) operations up to it.
        decision_t : (n_samples, n_margins) decision times, t_end when undecided.
        decided : (n_samples, n_margins) 1 where the margin was reached.

        Returns
        -------
        status : int
            0, or -1 when memory ran out.
        """
        cdef Py_ssize_t n_samples = indptr.shape[0] - 1, n_m = margins.shape[0]
        cdef Py_ssize_t s, e, j, i, first, n_decided, bad = -1
        cdef double stop
        cdef int status = 0
        if n_samples < 0 or n_m < 1:
            raise ValueError("kernel input: need an indptr and at least one margin")
        check_length("t", t.shape[0], channel.shape[0])
        check_length("t_end", t_end.shape[0], n_samples)
        if indptr[0] != 0 or indptr[n_samples] != channel.shape[0]:
            raise ValueError(f"kernel input indptr: must run from 0 to {channel.shape[0]} events")
        for s in range(n_samples):
            if indptr[s + 1] < indptr[s]:
                raise ValueError(f"kernel input indptr: decreases at sample {s}")
        for j in range(n_m):
            if margins[j] < 1 or (j > 0 and margins[j] < margins[j - 1]):
                raise ValueError("kernel input margins: must be ascending and at least 1")
        check_shape("counts", (counts.shape[0], counts.shape[1], counts.shape[2]),
                    (n_samples, n_m, self.n_out))
        check_shape("v_end", (v_end.shape[0], v_end.shape[1], v_end.shape[2]),
                    (n_samples, n_m, self.n_out))
        check_shape("synops", (synops.shape[0], synops.shape[1], synops.shape[2]),
                    (n_samples, n_m, self.n_layers))
        check_shape(
            "inhibitions", (inhibitions.shape[0], inhibitions.shape[1], inhibitions.shape[2]),
            (n_samples, n_m, self.n_layers))
        check_shape("decision_t", (decision_t.shape[0], decision_t.shape[1]), (n_samples, n_m))
        check_shape("decided", (decided.shape[0], decided.shape[1]), (n_samples, n_m))
        bad = _first_outside(channel, 0, channel.shape[0], self.n_in)
        if bad >= 0:
            raise ValueError(
                f"kernel input channel: event {bad} has channel {channel[bad]}, "
                f"outside 0..{self.n_in - 1}"
            )
        with nogil:
            for s in range(n_samples):
                self._restart()
                stop = t_end[s]
                n_decided = 0
                for e in range(indptr[s], indptr[s + 1]):
                    if t[e] > stop:
                        break
                    self.rec.n_spikes = 0
                    if self._reserve() != 0:
                        status = -1
                        break
                    self._event(channel[e], t[e])
                    if self.rec.n_spikes == 0:
                        continue
                    if self.rec.n_spikes > self.rec.capacity:
                        self.overflowed = True
                    first = n_decided
                    n_decided = _replay_margins(
                        self.rec.spike_i, min(self.rec.n_spikes, self.rec.capacity),
                        self.tally, self.n_out, &margins[0], n_m, n_decided,
                        &counts[s, 0, 0])
                    for j in range(first, n_decided):
                        decision_t[s, j] = t[e]
                        decided[s, j] = 1
                        self._read(&v_end[s, j, 0], t[e])
                        self._operations(&synops[s, j, 0], &inhibitions[s, j, 0])
                    if n_decided == n_m:
                        break
                if status != 0:
                    break
                for j in range(n_decided, n_m):
                    for i in range(self.n_out):
                        counts[s, j, i] = self.own_rec.counts[i]
                    decision_t[s, j] = stop
                    decided[s, j] = 0
                    self._read(&v_end[s, j, 0], stop)
                    self._operations(&synops[s, j, 0], &inhibitions[s, j, 0])
        return status


cdef Py_ssize_t _replay_margins(
    const int32 *spike_i, Py_ssize_t n_spikes, int64 *tally, Py_ssize_t n_out,
    const int64 *margins, Py_ssize_t n_margins, Py_ssize_t n_decided,
    int64 *counts_at,
) noexcept nogil:
    """Count one input event's output spikes into tally, one by one, and decide
    the margins (ascending; the first n_decided are decided already) that the
    lead of the neuron that just fired reaches: its count minus the largest
    other. A decided margin's row of counts_at (n_margins, n_out) gets the
    tally of that moment. Returns the number of margins decided."""
    cdef Py_ssize_t s, i, j, m
    cdef int64 second
    for s in range(n_spikes):
        i = spike_i[s]
        tally[i] += 1
        if n_decided == n_margins:
            continue
        second = 0
        for j in range(n_out):
            if j != i and tally[j] > second:
                second = tally[j]
        while n_decided < n_margins and tally[i] - second >= margins[n_decided]:
            m = n_decided * n_out
            for j in range(n_out):
                counts_at[m + j] = tally[j]
            n_decided += 1
    return n_decided


cdef class DenseStream(StreamBase):
    """A fully connected network's state between pushes of one stream, for inference.

    Parameters
    ----------
    sizes, weights, thresholds, tau, t_ref, kappa, reset_to_zero, lower_bound :
        the network, as :func:`simulate` takes it (weights and thresholds of
        the module's type; the arrays are kept, not copied).
    """

    cdef Layer *layers

    def __init__(
        self,
        const int64[::1] sizes,
        list weights,
        list thresholds,
        const double[::1] tau,
        const double[::1] t_ref,
        const double[::1] kappa,
        bint reset_to_zero,
        bint lower_bound,
    ):
        cdef Py_ssize_t n_layers = sizes.shape[0] - 1, l, per_event = 1
        cdef const real **w_ptr
        cdef real **th_ptr
        cdef const real[:, ::1] w_view
        cdef const real[::1] th_view
        if self.layers != NULL:
            raise RuntimeError("DenseStream is initialized once")
        self.n_layers = n_layers
        check_inputs(
            np.zeros(0, np.int32), np.zeros(0), np.zeros(1, np.int64), np.zeros(0),
            sizes, weights, thresholds, [tau, t_ref, kappa],
        )
        self.keep = (list(weights), list(thresholds))
        w_ptr = <const real **> calloc(n_layers, sizeof(real *))
        th_ptr = <real **> calloc(n_layers, sizeof(real *))
        if w_ptr != NULL and th_ptr != NULL:
            for l in range(n_layers):
                w_view = weights[l]
                th_view = thresholds[l]
                w_ptr[l] = &w_view[0, 0]
                th_ptr[l] = <real *> &th_view[0]  # read only at inference
            self.layers = _make_layers(n_layers, sizes, w_ptr, th_ptr, tau, t_ref, kappa, False)
        free(w_ptr)
        free(th_ptr)
        if self.layers == NULL:
            raise MemoryError("not enough memory for the stream's state")
        _set_reset_and_bound(self.layers, n_layers, reset_to_zero, lower_bound)
        _find_uniform_thresholds(self.layers, n_layers)
        for l in range(1, n_layers + 1):
            per_event = min(per_event * sizes[l], <Py_ssize_t> MAX_SPIKES_PER_EVENT)
        self.rec = &self.own_rec
        self._start(sizes[0], sizes[n_layers], n_layers, per_event)

    def __dealloc__(self):
        _free_layers(self.layers, self.n_layers)

    cdef void _event(self, Py_ssize_t k, double t) noexcept nogil:
        _deliver(self.layers, self.n_layers, 0, k, t, self.rec)

    cdef void _restart_network(self) noexcept nogil:
        _reset(self.layers, self.n_layers)

    cdef void _read(self, double *v, double stop) noexcept nogil:
        """v_end as _run_sample reads it. The pending inhibition is applied now
        rather than with the next event: the same arithmetic (inhibit, then
        integrate), so the stream goes on bit for bit as if it had not been read."""
        cdef Layer *L = &self.layers[self.n_layers - 1]
        cdef Py_ssize_t i
        _settle(L)
        for i in range(L.n_out):
            v[i] = L.v[i] * exp((L.t_last - stop) / L.tau)

    cdef void _operations(self, int64 *synops, int64 *inhibitions) noexcept nogil:
        cdef Py_ssize_t l
        for l in range(self.n_layers):
            synops[l] = self.layers[l].synops
            inhibitions[l] = self.layers[l].inhibitions
