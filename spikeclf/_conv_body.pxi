# The body of spikeclf._conv (real = double: inference, and the forward pass of
# training through spikeclf._train) and spikeclf._conv32 (real = float:
# inference), typed on `real`, the type of membrane potentials, weights and
# thresholds that the module's .pxd cimports with the fully connected kernel of
# that type; one source, so the two cannot drift apart. Times stay double; a
# decay factor or dynamic weight is computed in double and rounded to `real`
# once per position and event, as in _lif_body.pxi.
#
# Convolution (stride 1, no padding, SPEC section 1): an input event on pixel
# (c, y, x) updates only the neurons (o, y', x') whose kernel covers it, for
# every feature map o: C_out * K * K neurons at most, never the whole layer.
# Every such event updates all C_out neurons of a covered position together, so
# a position keeps one last-update time and one decay factor serves its C_out
# neurons. The state is stored position-major, v[pos * C_out + o], and the
# weights as (C_in, K, K, C_out), so that one position is one contiguous vector
# loop of _lif_simd.h (the loops of the fully connected layers, reused as they
# are). Neurons fire in order of decreasing V / V_th among those the event
# touched, ties to the lowest flat index o * H' * W' + y' * W' + x' (the public
# numbering); the winner-take-all of a convolution inhibits the other feature
# maps at the winner's position.
#
# Pooling: an input (c, y, x) feeds the one neuron (c, y // 2, x // 2) with the
# channel's weight, w[c] (1 unless given: 1 / V_th in threshold units); rows
# and columns beyond the last whole window feed nothing; each neuron keeps its
# own update and output times; no lateral inhibition.
#
# The Python entry points check shapes, chaining and channels once; values
# (finite weights, positive thresholds, sorted times) are the caller's to
# validate (spikeclf.convolution does).

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, exp
from libc.stdlib cimport calloc, free

import numpy as np

cimport numpy as cnp

cnp.import_array()


cdef extern from "_conv_simd.h" nogil:
    void *spikeclf_aligned_zeros(size_t n)
    # Macros choosing the double or float loop by the type of v (_lif_simd.h).
    Py_ssize_t spikeclf_integrate(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay)
    Py_ssize_t spikeclf_integrate_scaled(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay, real w_dyn)
    Py_ssize_t spikeclf_integrate_each(
        real *v, const real *w, const real *offset, const real *th,
        const real *neg_th, const double *t_out, Py_ssize_t n, real decay, double t,
        double t_ref)
    Py_ssize_t spikeclf_inhibit(
        real *v, const real *th, const real *neg_th, Py_ssize_t n,
        Py_ssize_t winner, real kappa)
    Py_ssize_t spikeclf_integrate_offset_scaled(
        real *v, const real *w, const real *offset, const real *th,
        const real *neg_th, Py_ssize_t n, real decay, real w_dyn)
    # The same loops for a layer whose feature maps share one threshold, th[0].
    Py_ssize_t spikeclf_integrate_uniform(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay)
    Py_ssize_t spikeclf_integrate_scaled_uniform(
        real *v, const real *w, const real *th, const real *neg_th, Py_ssize_t n,
        real decay, real w_dyn)
    Py_ssize_t spikeclf_inhibit_uniform(
        real *v, const real *th, const real *neg_th, Py_ssize_t n,
        Py_ssize_t winner, real kappa)


KINDS = {"conv": CONV, "pool": POOL}
# Columns of the ``spatial`` table: kind, input (C, H, W), C_out, K.
N_COLUMNS = 6


cdef inline Py_ssize_t _best_at(const Spatial *S, Py_ssize_t pos, real *ratio) noexcept nogil:
    """Unfired feature map at threshold at a position with the largest V / V_th, or -1."""
    cdef Py_ssize_t o, winner = -1
    cdef const real *v = S.v + pos * S.c_out
    cdef const uint8 *fired = S.fired + pos * S.c_out
    cdef real r
    for o in range(S.c_out):
        if v[o] >= S.th[o] and not fired[o]:
            r = v[o] / S.th[o]
            if winner < 0 or r > ratio[0]:  # strict: ties go to the lowest o
                winner = o
                ratio[0] = r
    return winner


cdef inline real _w_dyn(double dt, double t_ref) noexcept nogil:
    """The dynamic weight ((t - t_out) / T_ref)^2 of neurons refractory since dt
    ago, 1 after T_ref; computed in double and rounded once."""
    return <real> ((dt / t_ref) * (dt / t_ref)) if dt < t_ref else 1.0


cdef void _conv_event(
    Net *net, Py_ssize_t l, Py_ssize_t c, Py_ssize_t y, Py_ssize_t x, double t,
) noexcept nogil:
    """Input event on pixel (c, y, x) at time t of convolution layer l, and what follows."""
    cdef Spatial *S = &net.sp[l]
    cdef Py_ssize_t n = S.c_out, size = S.k
    cdef Py_ssize_t y0 = y - size + 1 if y >= size else 0
    cdef Py_ssize_t x0 = x - size + 1 if x >= size else 0
    cdef Py_ssize_t y1 = y if y < S.h_out else S.h_out - 1
    cdef Py_ssize_t x1 = x if x < S.w_out else S.w_out - 1
    cdef Py_ssize_t yo, xo, pos, j, o, i, win, n_touched = 0, n_spiked = 0
    cdef Py_ssize_t at_threshold
    cdef real decay, best = 0.0
    cdef double dt
    cdef const real *w

    _input_activity(S, c, y, x, t)
    # Steps 1-4 at every covered position: one decay and one vector loop each.
    for yo in range(y0, y1 + 1):
        for xo in range(x0, x1 + 1):
            pos = yo * S.w_out + xo
            decay = 1.0
            if t != S.t_last[pos]:
                # 0 before the first update; computed in double, rounded once.
                decay = <real> exp((S.t_last[pos] - t) / S.tau)
                S.t_last[pos] = t
            w = S.w + ((c * size + (y - yo)) * size + (x - xo)) * n
            dt = t - S.pos_t_out[pos]
            if S.rho > 0.0 and (dt >= S.t_ref or S.kappa != 0.0):
                # Training with threshold regularization: the weights carry the
                # offsets of the maps whose threshold sits at its lower bound.
                at_threshold = spikeclf_integrate_offset_scaled(
                    S.v + pos * n, w, S.offset, S.th, S.neg_th, n, decay,
                    _w_dyn(dt, S.t_ref))
            elif dt >= S.t_ref:
                # Nobody refractory here: t - t_out[i] is at least dt, rounding included.
                if S.uniform_th:
                    at_threshold = spikeclf_integrate_uniform(
                        S.v + pos * n, w, S.th, S.neg_th, n, decay)
                else:
                    at_threshold = spikeclf_integrate(
                        S.v + pos * n, w, S.th, S.neg_th, n, decay)
            elif S.kappa != 0.0:
                # Winner-take-all: every spike here made all C_out neurons refractory
                # at once, so their t_out are pos_t_out and one w_dyn serves them all.
                if S.uniform_th:
                    at_threshold = spikeclf_integrate_scaled_uniform(
                        S.v + pos * n, w, S.th, S.neg_th, n, decay, _w_dyn(dt, S.t_ref))
                else:
                    at_threshold = spikeclf_integrate_scaled(
                        S.v + pos * n, w, S.th, S.neg_th, n, decay, _w_dyn(dt, S.t_ref))
            else:
                at_threshold = spikeclf_integrate_each(
                    S.v + pos * n, w, S.offset, S.th, S.neg_th, S.t_out + pos * n, n,
                    decay, t, S.t_ref)
            S.touched[n_touched] = pos
            S.best[n_touched] = -1
            if at_threshold > 0:
                S.best[n_touched] = _best_at(S, pos, &S.best_ratio[n_touched])
            n_touched += 1
    S.synops += n_touched * n

    # Step 5: largest V / V_th first, ties to the lowest flat index o * n_pos + pos.
    # Only the winner's position changes (its reset, its inhibition), so only
    # that position's best is searched again.
    while True:
        win = -1
        for j in range(n_touched):
            if S.best[j] < 0:
                continue
            if (
                win < 0 or S.best_ratio[j] > best
                or (S.best_ratio[j] == best
                    and S.best[j] * S.n_pos + S.touched[j] < S.best[win] * S.n_pos + S.touched[win])
            ):
                win = j
                best = S.best_ratio[j]
        if win < 0:
            break
        pos = S.touched[win]
        o = S.best[win]
        i = pos * n + o
        S.fired[i] = 1
        S.v[i] -= S.th[o]
        S.t_out[i] = t
        S.pos_t_out[pos] = t
        S.spiked[n_spiked] = <int32> (o * S.n_pos + pos)
        n_spiked += 1
        if S.kappa != 0.0:
            if S.uniform_th:
                spikeclf_inhibit_uniform(S.v + pos * n, S.th, S.neg_th, n, o, <real> S.kappa)
            else:
                spikeclf_inhibit(S.v + pos * n, S.th, S.neg_th, n, o, <real> S.kappa)
            for j in range(n):
                S.t_out[pos * n + j] = t
            S.inhibitions += n - 1
        S.best[win] = _best_at(S, pos, &S.best_ratio[win])
    for j in range(n_spiked):
        o = S.spiked[j] // S.n_pos
        S.fired[(S.spiked[j] - o * S.n_pos) * n + o] = 0
    if S.rho > 0.0 and n_spiked > 0:
        _regularize_map_thresholds(S, n_spiked)

    # Step 6: depth first, in firing order.
    for j in range(n_spiked):
        _emit(net, l, S.spiked[j], t)


cdef void _regularize_map_thresholds(Spatial *S, Py_ssize_t n_spiked) noexcept nogil:
    """Threshold regularization (paper 2.3.2) of a convolution layer, in training.

    Its C_out n_pos neurons share their map's threshold: a spike raises the
    neuron's threshold by rho N (N = C_out n_pos), its map's by that spread over
    the map's n_pos neurons, rho C_out; every spike lowers every threshold by
    rho. A threshold that would fall below its lower bound stays there and the
    map's weights rise by the rest (through the offsets).
    """
    cdef Py_ssize_t j, o
    cdef real lowered
    for j in range(n_spiked):
        S.th[S.spiked[j] // S.n_pos] += S.rho * S.c_out
    for o in range(S.c_out):
        lowered = S.th[o] - S.rho * n_spiked
        if lowered < S.th_min[o]:
            S.offset[o] += S.th_min[o] - lowered
            lowered = S.th_min[o]
        S.th[o] = lowered
        S.neg_th[o] = -lowered


cdef void _pool_event(
    Net *net, Py_ssize_t l, Py_ssize_t c, Py_ssize_t y, Py_ssize_t x, double t,
) noexcept nogil:
    """Input event on pixel (c, y, x) at time t of pooling layer l, and what follows."""
    cdef Spatial *S = &net.sp[l]
    cdef Py_ssize_t yo = y // 2, xo = x // 2, i
    cdef real decay = 1.0
    _input_activity(S, c, y, x, t)
    if yo >= S.h_out or xo >= S.w_out:
        return  # beyond the last whole 2x2 window
    i = c * S.n_pos + yo * S.w_out + xo
    if t != S.t_last[i]:
        decay = <real> exp((S.t_last[i] - t) / S.tau)
        S.t_last[i] = t
    # The channel's weight: 1 (then 1 * w_dyn is w_dyn, bit for bit), or 1 / V_th
    # in threshold units.
    S.v[i] = S.v[i] * decay + S.w[c] * _w_dyn(t - S.t_out[i], S.t_ref)
    if S.v[i] < S.neg_th[c]:
        S.v[i] = S.neg_th[c]
    S.synops += 1
    if S.v[i] >= S.th[c]:
        S.v[i] -= S.th[c]
        S.t_out[i] = t
        _emit(net, l, i, t)


cdef inline void _input_activity(
    Spatial *S, Py_ssize_t c, Py_ssize_t y, Py_ssize_t x, double t,
) noexcept nogil:
    """Training: the activity of input (c, y, x) of a spatial layer takes a spike."""
    cdef Py_ssize_t k = (c * S.h_in + y) * S.w_in + x
    if S.x == NULL:
        return
    if S.x_t[k] == -INFINITY:
        S.active_in[S.n_active_in] = <int32> k
        S.n_active_in += 1
    _accumulate(&S.x[k], &S.x_t[k], t, S.activity_tau)


cdef inline void _spatial_event(
    Net *net, Py_ssize_t l, Py_ssize_t c, Py_ssize_t y, Py_ssize_t x, double t,
) noexcept nogil:
    if net.sp[l].kind == CONV:
        _conv_event(net, l, c, y, x, t)
    else:
        _pool_event(net, l, c, y, x, t)


cdef void _emit(Net *net, Py_ssize_t l, Py_ssize_t i, double t) noexcept nogil:
    """Spike of neuron i (flat index) of spatial layer l: to the next layer or the record."""
    cdef Spatial *S = &net.sp[l]
    cdef Py_ssize_t c, rest, y
    if S.a != NULL:
        if S.a_t[i] == -INFINITY:
            S.active_out[S.n_active_out] = <int32> i
            S.n_active_out += 1
        _accumulate(&S.a[i], &S.a_t[i], t, S.activity_tau)
    if l + 1 < net.n_sp:
        c = i // S.n_pos
        rest = i - c * S.n_pos
        y = rest // S.w_out
        _spatial_event(net, l + 1, c, y, rest - y * S.w_out, t)
    elif net.n_dense > 0:
        _deliver(net.dense, net.n_dense, 0, i, t, &net.rec)
    else:
        net.rec.counts[i] += 1
        if net.rec.n_spikes < net.rec.capacity:
            net.rec.spike_t[net.rec.n_spikes] = t
            net.rec.spike_i[net.rec.n_spikes] = <int32> i
        net.rec.n_spikes += 1


cdef Net *_make_net(
    Py_ssize_t n_sp, const int64[:, ::1] spatial, real **sp_w,
    real **sp_th, const double[::1] sp_tau, const double[::1] sp_t_ref,
    const double[::1] sp_kappa, Py_ssize_t n_dense, const int64[::1] sizes,
    const real **weights, real **thresholds, const double[::1] tau,
    const double[::1] t_ref, const double[::1] kappa, bint train,
) noexcept nogil:
    """Allocate one thread's network state (train: with activities); NULL when out of memory.

    sp_w[l] of a pooling layer may be NULL: weights 1. At inference (not train),
    layers whose neurons share one threshold are marked for the loops that
    read it once.

    Every allocation on cache lines of its own, as in spikeclf._lif's
    _make_layers: the state is written on every event.
    """
    cdef Net *net = <Net *> spikeclf_aligned_zeros(sizeof(Net))
    cdef Spatial *S
    cdef Py_ssize_t l, i, n_out, n_state
    cdef bint ok = net != NULL
    if not ok:
        return NULL
    net.n_sp = n_sp
    net.n_dense = n_dense
    if n_sp > 0:
        net.sp = <Spatial *> spikeclf_aligned_zeros(n_sp * sizeof(Spatial))
        ok = net.sp != NULL
    for l in range(n_sp if ok else 0):
        S = &net.sp[l]
        S.kind = <int> spatial[l, 0]
        S.c_in, S.h_in, S.w_in = spatial[l, 1], spatial[l, 2], spatial[l, 3]
        S.c_out, S.k = spatial[l, 4], spatial[l, 5]
        if S.kind == CONV:
            S.h_out, S.w_out = S.h_in - S.k + 1, S.w_in - S.k + 1
        else:
            S.h_out, S.w_out = S.h_in // 2, S.w_in // 2
        S.n_pos = S.h_out * S.w_out
        S.n_in = S.c_in * S.h_in * S.w_in
        S.n_out = S.c_out * S.n_pos
        S.w = sp_w[l]
        S.th = sp_th[l]
        S.tau, S.t_ref, S.kappa = sp_tau[l], sp_t_ref[l], sp_kappa[l]
        S.activity_tau = S.tau
        n_out = S.c_out * S.n_pos
        n_state = S.n_pos if S.kind == CONV else n_out
        S.neg_th = <real *> spikeclf_aligned_zeros(S.c_out * sizeof(real))
        S.zeros = <real *> spikeclf_aligned_zeros(S.c_out * sizeof(real))
        S.v = <real *> spikeclf_aligned_zeros(n_out * sizeof(real))
        S.t_out = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
        S.t_last = <double *> spikeclf_aligned_zeros(n_state * sizeof(double))
        ok = ok and S.neg_th != NULL and S.zeros != NULL and S.v != NULL
        ok = ok and S.t_out != NULL and S.t_last != NULL
        S.offset = S.zeros
        if ok:
            for i in range(S.c_out):
                S.neg_th[i] = -S.th[i]
        if S.kind == POOL and S.w == NULL:
            S.unit_w = <real *> spikeclf_aligned_zeros(S.c_out * sizeof(real))
            ok = ok and S.unit_w != NULL
            if ok:
                for i in range(S.c_out):
                    S.unit_w[i] = 1.0
            S.w = S.unit_w
        if S.kind == CONV and not train:
            S.uniform_th = True
            for i in range(1, S.c_out):
                if S.th[i] != S.th[0]:
                    S.uniform_th = False
                    break
        if S.kind == CONV:
            S.pos_t_out = <double *> spikeclf_aligned_zeros(S.n_pos * sizeof(double))
            S.fired = <uint8 *> spikeclf_aligned_zeros(n_out * sizeof(uint8))
            S.spiked = <int32 *> spikeclf_aligned_zeros(S.k * S.k * S.c_out * sizeof(int32))
            S.touched = <Py_ssize_t *> spikeclf_aligned_zeros(S.k * S.k * sizeof(Py_ssize_t))
            S.best = <Py_ssize_t *> spikeclf_aligned_zeros(S.k * S.k * sizeof(Py_ssize_t))
            S.best_ratio = <real *> spikeclf_aligned_zeros(S.k * S.k * sizeof(real))
            ok = ok and S.pos_t_out != NULL and S.fired != NULL and S.spiked != NULL
            ok = ok and S.touched != NULL and S.best != NULL and S.best_ratio != NULL
        if train:
            S.x = <double *> spikeclf_aligned_zeros(S.n_in * sizeof(double))
            S.x_t = <double *> spikeclf_aligned_zeros(S.n_in * sizeof(double))
            S.a = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
            S.a_t = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
            S.active_in = <int32 *> spikeclf_aligned_zeros(S.n_in * sizeof(int32))
            S.active_out = <int32 *> spikeclf_aligned_zeros(n_out * sizeof(int32))
            ok = ok and S.x != NULL and S.x_t != NULL and S.a != NULL and S.a_t != NULL
            ok = ok and S.active_in != NULL and S.active_out != NULL
            if ok:
                for i in range(S.n_in):
                    S.x_t[i] = -INFINITY
                for i in range(n_out):
                    S.a_t[i] = -INFINITY
    if ok and n_dense > 0:
        net.dense = _make_layers(
            n_dense, sizes, weights, thresholds, tau, t_ref, kappa, train)
        ok = net.dense != NULL
        if ok and not train:
            _find_uniform_thresholds(net.dense, n_dense)
    if not ok:
        _free_net(net)
        return NULL
    return net


cdef void _free_net(Net *net) noexcept nogil:
    cdef Py_ssize_t l
    cdef Spatial *S
    if net == NULL:
        return
    if net.sp != NULL:
        for l in range(net.n_sp):
            S = &net.sp[l]
            free(S.neg_th)
            free(S.zeros)
            free(S.unit_w)
            free(S.v)
            free(S.t_out)
            free(S.t_last)
            free(S.pos_t_out)
            free(S.fired)
            free(S.spiked)
            free(S.touched)
            free(S.best)
            free(S.best_ratio)
            free(S.x)
            free(S.x_t)
            free(S.a)
            free(S.a_t)
            free(S.active_in)
            free(S.active_out)
        free(net.sp)
    if net.dense != NULL:
        _free_layers(net.dense, net.n_dense)
    free(net)


cdef void _reset_net(Net *net) noexcept nogil:
    cdef Py_ssize_t l, i, n_out
    cdef Spatial *S
    for l in range(net.n_sp):
        S = &net.sp[l]
        n_out = S.c_out * S.n_pos
        S.synops = 0
        S.inhibitions = 0
        for i in range(n_out):
            S.v[i] = 0.0
            S.t_out[i] = -INFINITY
        for i in range(S.n_pos if S.kind == CONV else n_out):
            S.t_last[i] = -INFINITY
        if S.kind == CONV:
            for i in range(S.n_pos):
                S.pos_t_out[i] = -INFINITY
        if S.x != NULL:
            # Only the entries the last sample made active.
            for i in range(S.n_active_in):
                S.x_t[S.active_in[i]] = -INFINITY
            for i in range(S.n_active_out):
                S.a_t[S.active_out[i]] = -INFINITY
            S.n_active_in = 0
            S.n_active_out = 0
    if net.n_dense > 0:
        _reset(net.dense, net.n_dense)


cdef void _input_event(Net *net, Py_ssize_t k, double t) noexcept nogil:
    """Input event on channel k (flat index of (c, y, x)) at time t, and what follows."""
    cdef Py_ssize_t c, y, plane, width
    if net.n_sp == 0:
        _deliver(net.dense, net.n_dense, 0, k, t, &net.rec)
        return
    width = net.sp[0].w_in
    plane = net.sp[0].h_in * width
    c = k // plane
    y = (k - c * plane) // width
    _spatial_event(net, 0, c, y, k - c * plane - y * width, t)


cdef void _run_sample(
    Net *net, Py_ssize_t sample,
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, int64[:, ::1] counts, double[:, ::1] v_end,
    int64[:, ::1] synops, int64[:, ::1] inhibitions, double[:, ::1] spike_t,
    int32[:, ::1] spike_i, int64[::1] n_spikes,
) noexcept nogil:
    cdef Py_ssize_t e, l, i, o, pos
    cdef double stop = t_end[sample]
    cdef Spatial *S
    cdef Layer *L
    _reset_net(net)
    net.rec.counts = &counts[sample, 0]
    net.rec.capacity = spike_t.shape[1]
    net.rec.spike_t = &spike_t[sample, 0] if net.rec.capacity > 0 else NULL
    net.rec.spike_i = &spike_i[sample, 0] if net.rec.capacity > 0 else NULL
    net.rec.n_spikes = 0
    for e in range(indptr[sample], indptr[sample + 1]):
        if t[e] > stop:
            break
        _input_event(net, channel[e], t[e])
    n_spikes[sample] = net.rec.n_spikes
    for l in range(net.n_sp):
        synops[sample, l] = net.sp[l].synops
        inhibitions[sample, l] = net.sp[l].inhibitions
    for l in range(net.n_dense):
        L = &net.dense[l]
        _settle(L)
        synops[sample, net.n_sp + l] = L.synops
        inhibitions[sample, net.n_sp + l] = L.inhibitions
    if net.n_dense > 0:
        L = &net.dense[net.n_dense - 1]
        for i in range(L.n_out):
            v_end[sample, i] = L.v[i] * exp((L.t_last - stop) / L.tau)
        return
    S = &net.sp[net.n_sp - 1]
    if S.kind == POOL:
        for i in range(S.c_out * S.n_pos):
            v_end[sample, i] = S.v[i] * exp((S.t_last[i] - stop) / S.tau)
        return
    for pos in range(S.n_pos):
        for o in range(S.c_out):
            v_end[sample, o * S.n_pos + pos] = (
                S.v[pos * S.c_out + o] * exp((S.t_last[pos] - stop) / S.tau))


cdef tuple _output_shape(const int64[:, ::1] spatial, Py_ssize_t l):
    """(C, H, W) of spatial layer l's output."""
    if spatial[l, 0] == CONV:
        return (spatial[l, 4], spatial[l, 2] - spatial[l, 5] + 1,
                spatial[l, 3] - spatial[l, 5] + 1)
    return (spatial[l, 4], spatial[l, 2] // 2, spatial[l, 3] // 2)


cdef Py_ssize_t _check_network(
    const int64[:, ::1] spatial, list sp_weights, list sp_thresholds, list sp_per_layer,
    const int64[::1] sizes, list weights, list thresholds, list per_layer,
) except -1:
    """Check the layer table, chaining and array shapes; return the input size."""
    cdef Py_ssize_t n_sp = spatial.shape[0], n_dense = sizes.shape[0] - 1, l
    cdef int64 kind, c_in, h_in, w_in, c_out, size
    cdef tuple shape = None
    if spatial.shape[1] != N_COLUMNS:
        raise ValueError(
            f"kernel input spatial: shape {(spatial.shape[0], spatial.shape[1])}, "
            f"expected (n_spatial, {N_COLUMNS})"
        )
    if n_dense < 0 or n_sp + n_dense < 1:
        raise ValueError("kernel input: need at least one layer and sizes[0]")
    check_length("spatial_weights", len(sp_weights), n_sp)
    check_length("spatial_thresholds", len(sp_thresholds), n_sp)
    for l in range(len(sp_per_layer)):
        check_length(f"spatial per-layer array {l}", len(sp_per_layer[l]), n_sp)
    for l in range(n_sp):
        kind, c_in, h_in, w_in = spatial[l, 0], spatial[l, 1], spatial[l, 2], spatial[l, 3]
        c_out, size = spatial[l, 4], spatial[l, 5]
        if kind != CONV and kind != POOL:
            raise ValueError(f"kernel input spatial[{l}]: unknown layer kind {kind}")
        if min(c_in, h_in, w_in, c_out, size) < 1:
            raise ValueError(f"kernel input spatial[{l}]: sizes must be positive")
        if shape is not None and (c_in, h_in, w_in) != shape:
            raise ValueError(
                f"kernel input spatial[{l}]: input {(c_in, h_in, w_in)}, but layer "
                f"{l - 1} puts out {shape}"
            )
        if kind == CONV:
            if size > h_in or size > w_in:
                raise ValueError(
                    f"kernel input spatial[{l}]: kernel {size}x{size} larger than "
                    f"its input {h_in}x{w_in}"
                )
            check_shape(f"spatial_weights[{l}]", np.shape(sp_weights[l]), (c_in, size, size, c_out))
        else:
            if size != 2 or c_out != c_in or h_in < 2 or w_in < 2:
                raise ValueError(
                    f"kernel input spatial[{l}]: pooling needs K = 2, C_out = C_in "
                    "and an input of at least 2x2"
                )
            if sp_weights[l] is not None:
                check_shape(f"spatial_weights[{l}]", np.shape(sp_weights[l]), (c_out,))
        check_shape(f"spatial_thresholds[{l}]", np.shape(sp_thresholds[l]), (c_out,))
        shape = _output_shape(spatial, l)
    check_length("weights", len(weights), n_dense)
    check_length("thresholds", len(thresholds), n_dense)
    for l in range(len(per_layer)):
        check_length(f"per-layer array {l}", len(per_layer[l]), n_dense)
    for l in range(n_dense + 1):
        if sizes[l] < 1:
            raise ValueError(f"kernel input sizes: layer sizes must be positive, got {np.asarray(sizes)}")
    if shape is not None and sizes[0] != shape[0] * shape[1] * shape[2]:
        raise ValueError(
            f"kernel input sizes[0]: {sizes[0]}, but the last spatial layer puts out "
            f"{shape}"
        )
    for l in range(n_dense):
        check_shape(f"weights[{l}]", np.shape(weights[l]), (sizes[l], sizes[l + 1]))
        check_shape(f"thresholds[{l}]", np.shape(thresholds[l]), (sizes[l + 1],))
    if n_sp == 0:
        return sizes[0]
    return spatial[0, 1] * spatial[0, 2] * spatial[0, 3]


cdef int _check_events(
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, Py_ssize_t n_in, const int64[::1] samples=None,
) except -1:
    """Check the packed events the loops index by. ``samples``: the (valid)
    samples a call visits, whose channels alone are scanned (training visits
    an epoch in calls of a block of samples each); None for all."""
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1, l, e, j, bad = -1
    if n_samples < 0:
        raise ValueError("kernel input indptr: empty, need n_samples + 1 entries")
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
    const int32[::1] channel, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t n_in,
) noexcept nogil:
    """Index of the first channel in [start, stop) outside 0..n_in-1, or -1."""
    cdef Py_ssize_t e
    for e in range(start, stop):
        if channel[e] < 0 or channel[e] >= n_in:
            return e
    return -1


cdef int _point_at(
    const int64[:, ::1] spatial, list spatial_weights, list spatial_thresholds,
    list weights, list thresholds, real **sp_w, real **sp_th, const real **w_ptr,
    real **th_ptr,
) except -1:
    """Pointers to the first element of every array of a checked network, for
    _make_net; NULL for a pooling layer's weights given as None (weights 1).
    The arrays must be of the module's type (a buffer mismatch raises)."""
    cdef const real[:, :, :, ::1] w4
    cdef const real[:, ::1] w2
    cdef const real[::1] w1
    cdef const real[::1] th1
    cdef Py_ssize_t l
    for l in range(spatial.shape[0]):
        sp_w[l] = NULL
        if spatial[l, 0] == CONV:
            w4 = spatial_weights[l]
            sp_w[l] = <real *> &w4[0, 0, 0, 0]  # read only at inference
        elif spatial_weights[l] is not None:
            w1 = spatial_weights[l]
            sp_w[l] = <real *> &w1[0]
        th1 = spatial_thresholds[l]
        sp_th[l] = <real *> &th1[0]  # read only at inference
    for l in range(len(weights)):
        w2 = weights[l]
        th1 = thresholds[l]
        w_ptr[l] = &w2[0, 0]
        th_ptr[l] = <real *> &th1[0]  # read only at inference
    return 0


def simulate(
    const int32[::1] channel,
    const double[::1] t,
    const int64[::1] indptr,
    const double[::1] t_end,
    const int64[:, ::1] spatial,
    list spatial_weights,
    list spatial_thresholds,
    const double[::1] spatial_tau,
    const double[::1] spatial_t_ref,
    const double[::1] spatial_kappa,
    const int64[::1] sizes,
    list weights,
    list thresholds,
    const double[::1] tau,
    const double[::1] t_ref,
    const double[::1] kappa,
    int64[:, ::1] counts,
    double[:, ::1] v_end,
    int64[:, ::1] synops,
    int64[:, ::1] inhibitions,
    double[:, ::1] spike_t,
    int32[:, ::1] spike_i,
    int64[::1] n_spikes,
    int n_threads,
):
    """Simulate every sample; write per-sample results into the output arrays.

    Parameters
    ----------
    channel, t, indptr : packed events (see spikeclf.events.PackedEvents), t in us;
        channel is the flat index of (c, y, x) in the input (C, H, W).
    t_end : (n_samples,) time at which each sample stops and is read; later
        events are not processed.
    spatial : (n_spatial, 6) int64 table of the convolution and pooling layers,
        one row (kind, C_in, H_in, W_in, C_out, K) each, kind CONV (0) or POOL
        (1, with K = 2 and C_out = C_in). Row l + 1 takes row l's output
        (C_out, H_in - K + 1, W_in - K + 1) for CONV, (C_in, H_in // 2,
        W_in // 2) for POOL.
    spatial_weights : per spatial layer, a C-contiguous array of the module's
        type (float64 in spikeclf._conv, float32 in spikeclf._conv32) of shape
        (C_in, K, K, C_out) for CONV, holding w[o, c, ky, kx] at [c, ky, kx, o];
        for POOL, (C_out,) weights of the inputs of each channel's neurons, or
        None for weights 1.
    spatial_thresholds : per spatial layer, (C_out,) thresholds of the same
        type (POOL: one value repeated).
    spatial_tau, spatial_t_ref, spatial_kappa : (n_spatial,) time constant and
        refractory period in us, lateral inhibition across feature maps
        (0 for none; 0 for POOL).
    sizes : (n_dense + 1,) fully connected tail as in spikeclf._lif.simulate:
        sizes[0] the number of outputs of the last spatial layer (or of inputs
        when n_spatial is 0), then n_out of each dense layer; n_dense may be 0.
    weights, thresholds, tau, t_ref, kappa : the dense layers, as in
        spikeclf._lif.simulate (weights and thresholds of the module's type).
    counts, v_end : (n_samples, n_out of the last layer) output spike counts and
        membrane potentials at t_end, by flat index.
    synops, inhibitions : (n_samples, n_spatial + n_dense) operation counts.
    spike_t, spike_i : (n_samples, capacity) output spikes in order; capacity may
        be 0. n_spikes : (n_samples,) number of output spikes (may exceed
        capacity: only the first ``capacity`` are written).
    n_threads : threads simulating samples in parallel (results do not depend on it).

    Returns
    -------
    status : int
        0, or -1 when memory ran out.
    """
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1
    cdef Py_ssize_t n_sp = spatial.shape[0], n_dense = sizes.shape[0] - 1
    cdef Py_ssize_t n_in, n_out, l, sample
    cdef int[1] out_of_memory
    cdef Net *net = NULL
    cdef real **sp_w = NULL
    cdef real **sp_th = NULL
    cdef const real **w_ptr = NULL
    cdef real **th_ptr = NULL
    n_in = _check_network(
        spatial, spatial_weights, spatial_thresholds,
        [spatial_tau, spatial_t_ref, spatial_kappa], sizes, weights, thresholds,
        [tau, t_ref, kappa],
    )
    _check_events(channel, t, indptr, t_end, n_in)
    if n_dense > 0:
        n_out = sizes[n_dense]
    else:
        n_out = int(np.prod(_output_shape(spatial, n_sp - 1)))
    check_shape("counts", (counts.shape[0], counts.shape[1]), (n_samples, n_out))
    check_shape("v_end", (v_end.shape[0], v_end.shape[1]), (n_samples, n_out))
    check_shape("synops", (synops.shape[0], synops.shape[1]), (n_samples, n_sp + n_dense))
    check_shape(
        "inhibitions", (inhibitions.shape[0], inhibitions.shape[1]), (n_samples, n_sp + n_dense))
    check_shape("spike_i", (spike_i.shape[0], spike_i.shape[1]), (spike_t.shape[0], spike_t.shape[1]))
    if spike_t.shape[1] > 0:
        check_length("spike_t", spike_t.shape[0], n_samples)
    check_length("n_spikes", n_spikes.shape[0], n_samples)

    sp_w = <real **> calloc(n_sp + 1, sizeof(real *))
    sp_th = <real **> calloc(n_sp + 1, sizeof(real *))
    w_ptr = <const real **> calloc(n_dense + 1, sizeof(real *))
    th_ptr = <real **> calloc(n_dense + 1, sizeof(real *))
    out_of_memory[0] = sp_w == NULL or sp_th == NULL or w_ptr == NULL or th_ptr == NULL
    try:
        if not out_of_memory[0]:
            # The arrays stay alive in the caller's lists while the threads run.
            _point_at(spatial, spatial_weights, spatial_thresholds, weights, thresholds,
                      sp_w, sp_th, w_ptr, th_ptr)
            with nogil, parallel(num_threads=n_threads):
                net = _make_net(
                    n_sp, spatial, sp_w, sp_th, spatial_tau, spatial_t_ref,
                    spatial_kappa, n_dense, sizes, w_ptr, th_ptr, tau, t_ref, kappa,
                    False,
                )
                if net == NULL:
                    out_of_memory[0] = 1
                else:
                    for sample in prange(n_samples, schedule="dynamic"):
                        _run_sample(
                            net, sample, channel, t, indptr, t_end, counts, v_end,
                            synops, inhibitions, spike_t, spike_i, n_spikes,
                        )
                    _free_net(net)
    finally:
        # Also when an array is not of the module's type (_point_at raises).
        free(sp_w)
        free(sp_th)
        free(w_ptr)
        free(th_ptr)
    return -1 if out_of_memory[0] else 0


cdef class ConvStream(StreamBase):
    """A convolutional network's state between pushes of one stream (see
    spikeclf._lif.StreamBase for push, run_early and the readings).

    Parameters
    ----------
    spatial, spatial_weights, ..., kappa : the network, as :func:`simulate`
        takes it (the arrays are kept, not copied).
    """

    cdef Net *net

    def __init__(
        self,
        const int64[:, ::1] spatial,
        list spatial_weights,
        list spatial_thresholds,
        const double[::1] spatial_tau,
        const double[::1] spatial_t_ref,
        const double[::1] spatial_kappa,
        const int64[::1] sizes,
        list weights,
        list thresholds,
        const double[::1] tau,
        const double[::1] t_ref,
        const double[::1] kappa,
    ):
        cdef Py_ssize_t n_sp = spatial.shape[0], n_dense = sizes.shape[0] - 1
        cdef Py_ssize_t n_in, n_out, l, per_event = 1
        cdef real **sp_w
        cdef real **sp_th
        cdef const real **w_ptr
        cdef real **th_ptr
        if self.net != NULL:
            raise RuntimeError("ConvStream is initialized once")
        n_in = _check_network(
            spatial, spatial_weights, spatial_thresholds,
            [spatial_tau, spatial_t_ref, spatial_kappa], sizes, weights, thresholds,
            [tau, t_ref, kappa],
        )
        self.keep = (list(spatial_weights), list(spatial_thresholds), list(weights),
                     list(thresholds))
        for l in range(n_sp):
            if spatial[l, 0] == CONV:
                per_event *= spatial[l, 5] * spatial[l, 5] * spatial[l, 4]
            per_event = min(per_event, <Py_ssize_t> MAX_SPIKES_PER_EVENT)
        for l in range(n_dense):
            per_event = min(per_event * sizes[l + 1], <Py_ssize_t> MAX_SPIKES_PER_EVENT)
        sp_w = <real **> calloc(n_sp + 1, sizeof(real *))
        sp_th = <real **> calloc(n_sp + 1, sizeof(real *))
        w_ptr = <const real **> calloc(n_dense + 1, sizeof(real *))
        th_ptr = <real **> calloc(n_dense + 1, sizeof(real *))
        try:
            if sp_w != NULL and sp_th != NULL and w_ptr != NULL and th_ptr != NULL:
                _point_at(spatial, spatial_weights, spatial_thresholds, weights,
                          thresholds, sp_w, sp_th, w_ptr, th_ptr)
                self.net = _make_net(
                    n_sp, spatial, sp_w, sp_th, spatial_tau, spatial_t_ref,
                    spatial_kappa, n_dense, sizes, w_ptr, th_ptr, tau, t_ref, kappa,
                    False,
                )
        finally:
            free(sp_w)
            free(sp_th)
            free(w_ptr)
            free(th_ptr)
        if n_dense > 0:
            n_out = sizes[n_dense]
        else:
            n_out = int(np.prod(_output_shape(spatial, n_sp - 1)))
        if self.net == NULL:
            raise MemoryError("not enough memory for the stream's state")
        self.rec = &self.net.rec
        self._start(n_in, n_out, n_sp + n_dense, per_event)

    def __dealloc__(self):
        _free_net(self.net)

    cdef void _event(self, Py_ssize_t k, double t) noexcept nogil:
        _input_event(self.net, k, t)

    cdef void _restart_network(self) noexcept nogil:
        _reset_net(self.net)

    cdef void _read(self, double *v, double stop) noexcept nogil:
        """v_end as _run_sample reads it (see DenseStream._read)."""
        cdef Net *net = self.net
        cdef Py_ssize_t i, o, pos
        cdef Spatial *S
        cdef Layer *L
        if net.n_dense > 0:
            L = &net.dense[net.n_dense - 1]
            _settle(L)
            for i in range(L.n_out):
                v[i] = L.v[i] * exp((L.t_last - stop) / L.tau)
            return
        S = &net.sp[net.n_sp - 1]
        if S.kind == POOL:
            for i in range(S.c_out * S.n_pos):
                v[i] = S.v[i] * exp((S.t_last[i] - stop) / S.tau)
            return
        for pos in range(S.n_pos):
            for o in range(S.c_out):
                v[o * S.n_pos + pos] = (
                    S.v[pos * S.c_out + o] * exp((S.t_last[pos] - stop) / S.tau))

    cdef void _operations(self, int64 *synops, int64 *inhibitions) noexcept nogil:
        cdef Py_ssize_t l
        for l in range(self.net.n_sp):
            synops[l] = self.net.sp[l].synops
            inhibitions[l] = self.net.sp[l].inhibitions
        for l in range(self.net.n_dense):
            synops[self.net.n_sp + l] = self.net.dense[l].synops
            inhibitions[self.net.n_sp + l] = self.net.dense[l].inhibitions
