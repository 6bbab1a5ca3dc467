"""Spike-based backpropagation through spiking convolution and pooling layers.

Compiled kernel of :mod:`spikeclf._cnn`. For each sample (batch size 1): the
event-driven forward pass of spikeclf._conv with the activities of Eq. 4 kept
in every layer, the backward pass of the fully connected tail as in
spikeclf._backward, then the error through the pooling and convolution
layers, from the top down. Only active entries are visited: neurons that fired,
inputs that received a spike.

The paper (2.3.1) normalizes errors "in the same way" in convolution layers;
its fully connected rules, taken per neuron (SPEC section 3, issue 5):

- A neuron i of a convolution layer at position p has M_i = C_in K K synapses,
  m_i of them active (the active inputs of its receptive field: the same m for
  all feature maps at p). The error of an active input k of the layer is
  e_k = sum_i sqrt(M_i / m_i) w_ik delta_i over the active neurons whose field
  covers k (Eq. 12 with M / m per neuron).
- delta_i = (g_i / g_bar) A^-1 e within the winner-take-all group of a position
  (its active feature maps; A as in spikeclf._backward), g = 1 / V_th and
  g_bar its RMS over the active neurons of the layer.
- Shared kernels sum Eq. 13 over positions: dw[o, c, ky, kx] = sum over the
  active neurons i of map o of sqrt(N / m_i) delta_i x_k, N = C_out K K the
  synapses of one input (the role of N, the fan-out, in a fully connected
  layer); the threshold of map o takes sum_i sqrt(N / (m_i M_i)) delta_i a_hat_i.
- Pooling (weights 1, not trained) is the transfer function a_i = s_i / V_th,
  so delta_i = (g_i / g_bar) e_i and its M_i = 4 inputs get
  sqrt(4 / m_i) delta_i each.

The optimizer steps every kernel entry and threshold of the feature maps that
had an active neuron in the sample (Adam's lazy update, by feature map: a
kernel is small). A threshold that falls below its lower bound stays there and
the kernel of its map rises by the difference instead. Exponential weight
regularization (Eq. 15) takes each feature map's kernel as the weight vector
of a neuron, every ``reg_every`` samples like the fully connected layers.
"""

from libc.math cimport INFINITY, exp, isfinite, sqrt
from libc.stdlib cimport calloc, free

cimport numpy as cnp

import numpy as np

from ._backward cimport (
    Optimizer, _activities_at, _argmax, _finite, _optimizer, _output_error,
    _regularize_all, _step, _tail_backward,
)
from ._conv cimport (
    CONV, Net, Spatial, _check_events, _check_network, _free_net, _input_event,
    _make_net, _reset_net,
)
from ._lif cimport Layer, _decayed, _settle, check_length, check_shape, int32, int64, uint8

cnp.import_array()


cdef struct Scratch:
    # per spatial layer, for the backward pass of one sample
    double *err              # (n_out,) error of the active neurons by flat index, else 0
    double *delta            # conv: (n_out,) deltas, position-major (pos * C_out + o)
    double *grad_w           # conv: (C_in * K * K * C_out,) kernel gradient
    double *grad_th          # conv: (C_out,) threshold gradient
    uint8 *map_active        # conv: (C_out,) the map had an active neuron
    uint8 *pos_mark          # conv: (n_pos,) the position is in pos_list
    Py_ssize_t *pos_list     # conv: (n_pos,) positions with an active neuron
    double *offset           # conv: (C_out,) offsets of threshold regularization
    double *m_w              # conv, Adam: the caller's moments, else NULL
    double *v_w
    double *m_th
    double *v_th
    const double *th_min     # conv: (C_out,) lower bounds of the thresholds


cdef void _spatial_activities_at(Spatial *S, double t_end) noexcept nogil:
    """Replace the lazily kept activities of the active entries by their value at t_end."""
    cdef Py_ssize_t j, k
    for j in range(S.n_active_in):
        k = S.active_in[j]
        S.x[k] = _decayed(S.x[k], S.x_t[k], t_end, S.activity_tau)
    for j in range(S.n_active_out):
        k = S.active_out[j]
        S.a[k] = _decayed(S.a[k], S.a_t[k], t_end, S.activity_tau)


cdef double _g_bar(const Spatial *S) noexcept nogil:
    """RMS of g = 1 / V_th over the active neurons of a spatial layer."""
    cdef Py_ssize_t j, o
    cdef double g_square = 0.0
    for j in range(S.n_active_out):
        o = S.active_out[j] // S.n_pos
        g_square += 1.0 / (S.th[o] * S.th[o])
    return sqrt(g_square / S.n_active_out)


cdef void _pool_backward(const Spatial *P, const double *err, double *below) noexcept nogil:
    """Add the error of the active inputs of pooling layer P to ``below``.

    ``below`` is indexed by P's flat input index, the flat output index of the
    layer below.
    """
    cdef Py_ssize_t j, i, c, pos, y, x, dy, dx, k, m
    cdef double g_bar = _g_bar(P), delta
    for j in range(P.n_active_out):
        i = P.active_out[j]
        c = i // P.n_pos
        pos = i - c * P.n_pos
        y = 2 * (pos // P.w_out)
        x = 2 * (pos - (pos // P.w_out) * P.w_out)
        delta = (1.0 / P.th[c]) / g_bar * err[i]
        m = 0
        for dy in range(2):
            for dx in range(2):
                m += P.x_t[(c * P.h_in + y + dy) * P.w_in + x + dx] != -INFINITY
        for dy in range(2):
            for dx in range(2):
                k = (c * P.h_in + y + dy) * P.w_in + x + dx
                if P.x_t[k] != -INFINITY:
                    below[k] += sqrt(4.0 / m) * delta


cdef void _position_deltas(
    const Spatial *S, const double *err, Py_ssize_t pos, double sigma, double g_bar,
    double *delta,
) noexcept nogil:
    """delta = (g / g_bar) A^-1 e over the active feature maps at one position."""
    cdef Py_ssize_t o, i, n_active = 0
    cdef double c = 1.0 + sigma * S.kappa, d = sigma * S.kappa, total = 0.0, shift
    for o in range(S.c_out):
        i = o * S.n_pos + pos
        if S.a_t[i] != -INFINITY:
            total += err[i]
            n_active += 1
    shift = d * total / (c - d * n_active)
    for o in range(S.c_out):
        i = o * S.n_pos + pos
        delta[o] = 0.0
        if S.a_t[i] != -INFINITY:
            delta[o] = (1.0 / S.th[o]) / g_bar * (err[i] + shift) / c


cdef void _position_gradients(
    const Spatial *S, Scratch *W, Py_ssize_t pos, double sigma, double *below,
) noexcept nogil:
    """Kernel and threshold gradients of one position's active neurons, and the
    error they send to the active inputs of their receptive field (when below
    is not NULL)."""
    cdef Py_ssize_t n = S.c_out, size = S.k, c, ky, kx, k, row, o, i, m = 0
    cdef Py_ssize_t y = pos // S.w_out, x = pos - (pos // S.w_out) * S.w_out
    cdef double n_syn = S.c_in * size * size, n_fan = S.c_out * size * size
    cdef double scale_w, scale_th, scale_e, xk, acc, a_total = 0.0, a_hat
    cdef const double *delta = W.delta + pos * n
    cdef const double *w
    cdef double *grad
    for c in range(S.c_in):
        for ky in range(size):
            for kx in range(size):
                m += S.x_t[(c * S.h_in + y + ky) * S.w_in + x + kx] != -INFINITY
    scale_w = sqrt(n_fan / m)
    scale_th = sqrt(n_fan / (m * n_syn))
    scale_e = sqrt(n_syn / m)
    for c in range(S.c_in):
        for ky in range(size):
            for kx in range(size):
                k = (c * S.h_in + y + ky) * S.w_in + x + kx
                if S.x_t[k] == -INFINITY:
                    continue
                row = ((c * size + ky) * size + kx) * n
                w = S.w + row
                grad = W.grad_w + row
                xk = scale_w * S.x[k]
                acc = 0.0
                for o in range(n):
                    grad[o] += xk * delta[o]
                    acc = acc + w[o] * delta[o]
                if below != NULL:
                    below[k] += scale_e * acc
    for o in range(n):
        i = o * S.n_pos + pos
        if S.a_t[i] != -INFINITY:
            a_total += S.a[i]
    for o in range(n):
        i = o * S.n_pos + pos
        if S.a_t[i] != -INFINITY:
            # As in spikeclf._backward._update (SPEC: the sign of Eq. 13).
            a_hat = S.a[i] - sigma * S.kappa * (a_total - S.a[i])
            W.grad_th[o] -= scale_th * delta[o] * a_hat


cdef bint _conv_step(Spatial *S, Scratch *W, const Optimizer *opt) noexcept nogil:
    """Optimizer step on the kernels and thresholds of the active feature maps.

    Clears the gradients and flags. Returns whether every stepped parameter is
    finite.
    """
    cdef Py_ssize_t n = S.c_out, n_rows = S.c_in * S.k * S.k, r, o, p
    cdef double lift
    cdef bint finite = True
    for r in range(n_rows):
        for o in range(n):
            p = r * n + o
            if W.map_active[o]:
                _step(&S.w[p], &W.m_w[p] if opt.adam else NULL,
                      &W.v_w[p] if opt.adam else NULL, W.grad_w[p], opt.lr_w, opt)
                finite = finite and isfinite(S.w[p])
            W.grad_w[p] = 0.0
    for o in range(n):
        if W.map_active[o]:
            _step(&S.th[o], &W.m_th[o] if opt.adam else NULL,
                  &W.v_th[o] if opt.adam else NULL, W.grad_th[o], opt.lr_th, opt)
            if S.th[o] < W.th_min[o]:
                lift = W.th_min[o] - S.th[o]
                S.th[o] = W.th_min[o]
                for r in range(n_rows):
                    S.w[r * n + o] += lift
            S.neg_th[o] = -S.th[o]
            finite = finite and isfinite(S.th[o])
        W.grad_th[o] = 0.0
        W.map_active[o] = 0
    return finite


cdef bint _conv_backward(
    Spatial *S, Scratch *W, double *below, double sigma, const Optimizer *opt,
) noexcept nogil:
    """Backward pass of convolution layer S: deltas, gradients, error below, step."""
    cdef Py_ssize_t j, i, o, pos, p, n_positions = 0
    cdef double g_bar = _g_bar(S)
    for j in range(S.n_active_out):
        i = S.active_out[j]
        o = i // S.n_pos
        pos = i - o * S.n_pos
        W.map_active[o] = 1
        if not W.pos_mark[pos]:
            W.pos_mark[pos] = 1
            W.pos_list[n_positions] = pos
            n_positions += 1
    for p in range(n_positions):
        pos = W.pos_list[p]
        W.pos_mark[pos] = 0
        _position_deltas(S, W.err, pos, sigma, g_bar, W.delta + pos * S.c_out)
        _position_gradients(S, W, pos, sigma, below)
    return _conv_step(S, W, opt)


cdef void _fold_offsets(Spatial *S) noexcept nogil:
    """Add each map's offset to its kernel (before the backward pass reads it)."""
    cdef Py_ssize_t n = S.c_out, r, o
    for r in range(S.c_in * S.k * S.k):
        for o in range(n):
            S.w[r * n + o] += S.offset[o]
    for o in range(n):
        S.offset[o] = 0.0


cdef void _regularize_kernels(Spatial *S, double step, double beta, double *norm) noexcept nogil:
    """Eq. 15 with each feature map's kernel as the weight vector of a neuron."""
    cdef Py_ssize_t n = S.c_out, n_rows = S.c_in * S.k * S.k, r, o
    if step <= 0.0:
        return
    for o in range(n):
        norm[o] = 0.0
    for r in range(n_rows):
        for o in range(n):
            norm[o] += S.w[r * n + o] * S.w[r * n + o]
    for o in range(n):
        norm[o] = exp(-step * beta * exp(beta * (norm[o] - 1.0)))
    for r in range(n_rows):
        for o in range(n):
            S.w[r * n + o] *= norm[o]


cdef bint _spatial_backward(
    Net *net, Scratch *scratch, double sigma, const Optimizer *opt,
) noexcept nogil:
    """From the error at the last spatial layer's active neurons down to the input."""
    cdef Py_ssize_t l, j
    cdef Spatial *S
    cdef double *below
    cdef bint finite = True
    for l in range(net.n_sp - 1, -1, -1):
        S = &net.sp[l]
        if S.n_active_out == 0:
            break
        below = scratch[l - 1].err if l > 0 else NULL
        if S.kind == CONV:
            finite = _conv_backward(S, &scratch[l], below, sigma, opt) and finite
        elif below != NULL:
            _pool_backward(S, scratch[l].err, below)
        for j in range(S.n_active_out):
            scratch[l].err[S.active_out[j]] = 0.0
    # A break above leaves no error behind: the inputs of a silent layer are silent.
    return finite


def train_epoch(
    const int32[::1] channel,
    const double[::1] t,
    const int64[::1] indptr,
    const double[::1] t_end,
    const int32[::1] target,
    const int64[::1] order,
    const int64[:, ::1] spatial,
    list spatial_weights,
    list spatial_thresholds,
    list spatial_th_min,
    list spatial_moments,
    const double[::1] spatial_tau,
    const double[::1] spatial_t_ref,
    const double[::1] spatial_kappa,
    const double[::1] spatial_rho,
    const double[::1] spatial_reg,
    const int64[::1] sizes,
    list weights,
    list thresholds,
    list th_min,
    list moments,
    const double[::1] tau,
    const double[::1] t_ref,
    const double[::1] kappa,
    const double[::1] rho,
    const double[::1] reg_lambda,
    double reg_beta,
    Py_ssize_t reg_every,
    double sigma,
    double activity_tau,
    double lr_w,
    double lr_th,
    bint adam,
    double beta1,
    double beta2,
    double eps,
    bint cross_entropy,
    int64[::1] counters,
    double[::1] loss,
    int32[::1] predicted,
    int64[::1] out_spikes,
    int64[::1] synops,
):
    """Train a spiking CNN on the samples in ``order``; update in place.

    Parameters
    ----------
    channel, t, indptr, t_end, target, order : as in spikeclf._backward.train_epoch;
        channel is the flat index of (c, y, x) in the input (C, H, W).
    spatial, spatial_tau, spatial_t_ref, spatial_kappa : the convolution and
        pooling layers as in spikeclf._conv.simulate.
    spatial_weights : per spatial layer, (C_in, K, K, C_out) float64 kernels
        (None for pooling), updated in place.
    spatial_thresholds, spatial_th_min : per spatial layer, (C_out,) thresholds
        (updated in place) and their lower bounds.
    spatial_moments : for Adam, per spatial layer [m_w, v_w, m_th, v_th] shaped
        as the kernel and the thresholds (4 entries a layer, None for pooling);
        empty for SGD.
    spatial_rho : (n_spatial,) threshold regularization of the convolution
        layers: a spike raises its map's threshold by rho C_out and lowers
        every map's by rho (0: none; ignored for pooling).
    spatial_reg : (n_spatial,) weight regularization lambda (0 for pooling).
    sizes, weights, thresholds, th_min, moments, tau, t_ref, kappa, rho,
    reg_lambda : the fully connected tail (at least the output layer), as in
        spikeclf._backward.train_epoch; sizes[0] is the number of outputs of the
        last spatial layer.
    reg_beta, reg_every, sigma, activity_tau, lr_w, lr_th, adam, beta1, beta2, eps,
    cross_entropy, counters, loss, predicted, out_spikes, synops : as in
        spikeclf._backward.train_epoch; synops counts every layer.

    Returns
    -------
    status : int
        0; -1 when memory ran out; -2 when a parameter became NaN or infinite.
    """
    cdef Py_ssize_t n_sp = spatial.shape[0], n_dense = sizes.shape[0] - 1
    cdef Py_ssize_t l, s, e, sample, i, j, widest = 0, n_out
    cdef int status = 0
    cdef Optimizer opt
    cdef Net *net = NULL
    cdef Layer *L
    cdef Spatial *S
    cdef Scratch *scratch = NULL
    cdef double stop
    cdef double **sp_w = NULL
    cdef double **sp_th = NULL
    cdef const double **w_ptr = NULL
    cdef double **th_ptr = NULL
    cdef double **m_ptr = NULL
    cdef int64 *counts = NULL
    cdef int32 *all_out = NULL
    cdef double *error = NULL
    cdef double *delta = NULL
    cdef double *below = NULL
    cdef double[:, :, :, ::1] w4
    cdef double[:, ::1] w2
    cdef double[::1] view
    cdef int reached

    n_in = _check_network(
        spatial, spatial_weights, spatial_thresholds,
        [spatial_tau, spatial_t_ref, spatial_kappa, spatial_rho, spatial_reg], sizes,
        weights,
        thresholds, [tau, t_ref, kappa, rho, reg_lambda],
    )
    _check_events(channel, t, indptr, t_end, n_in)
    _check_training(
        n_in, spatial, spatial_thresholds, spatial_th_min, spatial_moments, sizes, th_min,
        moments, adam, indptr.shape[0] - 1, target, order, counters,
        [loss, predicted, out_spikes, synops],
    )
    n_out = sizes[n_dense]
    for l in range(n_dense + 1):
        widest = max(widest, sizes[l])
    for l in range(n_sp):
        widest = max(widest, spatial[l, 4])  # below is the norm buffer of Eq. 15
    sp_w = <double **> calloc(n_sp + 1, sizeof(double *))
    sp_th = <double **> calloc(n_sp + 1, sizeof(double *))
    w_ptr = <const double **> calloc(n_dense, sizeof(double *))
    th_ptr = <double **> calloc(n_dense, sizeof(double *))
    m_ptr = <double **> calloc(4 * n_dense, sizeof(double *))
    scratch = <Scratch *> calloc(n_sp + 1, sizeof(Scratch))
    counts = <int64 *> calloc(n_out, sizeof(int64))
    all_out = <int32 *> calloc(n_out, sizeof(int32))
    error = <double *> calloc(widest, sizeof(double))
    delta = <double *> calloc(widest, sizeof(double))
    below = <double *> calloc(widest, sizeof(double))
    if (sp_w == NULL or sp_th == NULL or w_ptr == NULL or th_ptr == NULL or m_ptr == NULL
            or scratch == NULL or counts == NULL or all_out == NULL or error == NULL
            or delta == NULL or below == NULL):
        status = -1
    else:
        for l in range(n_sp):
            if spatial[l, 0] == CONV:
                w4 = spatial_weights[l]
                sp_w[l] = &w4[0, 0, 0, 0]
            view = spatial_thresholds[l]
            sp_th[l] = &view[0]
            if not _make_scratch(&scratch[l], spatial, l, spatial_th_min, spatial_moments, adam):
                status = -1
        for l in range(n_dense):
            w2 = weights[l]
            w_ptr[l] = &w2[0, 0]
            view = thresholds[l]
            th_ptr[l] = &view[0]
            if adam:
                for i in range(4):
                    view = moments[4 * l + i].reshape(-1)
                    m_ptr[4 * l + i] = &view[0]
        if status == 0:
            net = _make_net(
                n_sp, spatial, sp_w, sp_th, spatial_tau, spatial_t_ref, spatial_kappa,
                n_dense, sizes, w_ptr, th_ptr, tau, t_ref, kappa, True,
            )
            if net == NULL:
                status = -1
    if status == 0:
        for l in range(n_sp):
            S = &net.sp[l]
            S.activity_tau = activity_tau
            if S.kind == CONV and spatial_rho[l] > 0.0:
                S.rho = spatial_rho[l]
                S.offset = scratch[l].offset
                S.th_min = scratch[l].th_min
        for l in range(n_dense):
            L = &net.dense[l]
            L.training = True
            L.activity_tau = activity_tau
            view = th_min[l]
            L.th_min = &view[0]
            L.rho = rho[l]
            # Offsets of the lower bound, folded into the weights at the end.
            L.offset = L.own_offset
    if status != 0:
        _free_all(net, scratch, n_sp, sp_w, sp_th, w_ptr, th_ptr, m_ptr, counts, all_out,
                  error, delta, below)
        return status

    for i in range(n_out):
        all_out[i] = <int32> i
    opt = _optimizer(adam, lr_w, lr_th, beta1, beta2, eps)
    net.rec.spike_t = NULL
    net.rec.spike_i = NULL
    net.rec.capacity = 0
    net.rec.counts = counts
    with nogil:
        for s in range(order.shape[0]):
            sample = order[s]
            stop = t_end[sample]
            _reset_net(net)
            for i in range(n_out):
                counts[i] = 0
            net.rec.n_spikes = 0
            for e in range(indptr[sample], indptr[sample + 1]):
                if t[e] > stop:
                    break
                _input_event(net, channel[e], t[e])
            synops[sample] = 0
            for l in range(n_sp):
                S = &net.sp[l]
                _spatial_activities_at(S, stop)
                synops[sample] += S.synops
                if S.rho > 0.0:
                    _fold_offsets(S)
            for l in range(n_dense):
                _settle(&net.dense[l])
                _activities_at(&net.dense[l], stop)
                synops[sample] += net.dense[l].synops
            out_spikes[sample] = net.rec.n_spikes
            predicted[sample] = _argmax(counts, n_out)
            loss[sample] = _output_error(counts, n_out, target[sample], cross_entropy, error)

            # The fully connected tail as in spikeclf._backward, then the rest.
            reached = _tail_backward(net.dense, n_dense, all_out, sigma, m_ptr, &opt,
                                     &counters[0], error, delta, below, n_sp > 0)
            if reached < 0:
                status = -2
            if reached == 1 and n_sp > 0:
                L = &net.dense[0]
                for j in range(L.n_active_in):
                    scratch[n_sp - 1].err[L.active_in[j]] = below[j]
                if not _spatial_backward(net, scratch, sigma, &opt):
                    status = -2
            for l in range(n_dense):
                if not _finite(&net.dense[l]):
                    status = -2
            if status != 0:
                break  # the parameters of this sample are not to be trusted

            counters[1] += 1
            if counters[1] >= reg_every:
                _regularize_all(net.dense, n_dense, reg_lambda, reg_beta, lr_w, counters[1], below)
                for l in range(n_sp):
                    if net.sp[l].kind == CONV:
                        _regularize_kernels(
                            &net.sp[l], lr_w * spatial_reg[l] * counters[1], reg_beta, below)
                counters[1] = 0
        _regularize_all(net.dense, n_dense, reg_lambda, reg_beta, lr_w, 0, below)
    _free_all(net, scratch, n_sp, sp_w, sp_th, w_ptr, th_ptr, m_ptr, counts, all_out,
              error, delta, below)
    return status


cdef bint _make_scratch(
    Scratch *W, const int64[:, ::1] spatial, Py_ssize_t l, list th_min, list moments,
    bint adam,
):
    """Allocate the backward state of spatial layer l; False when out of memory."""
    cdef Py_ssize_t c_in = spatial[l, 1], h_in = spatial[l, 2], w_in = spatial[l, 3]
    cdef Py_ssize_t c_out = spatial[l, 4], size = spatial[l, 5], n_pos
    cdef double[::1] view
    if spatial[l, 0] != CONV:
        W.err = <double *> calloc(c_out * (h_in // 2) * (w_in // 2), sizeof(double))
        return W.err != NULL
    n_pos = (h_in - size + 1) * (w_in - size + 1)
    W.err = <double *> calloc(c_out * n_pos, sizeof(double))
    W.delta = <double *> calloc(c_out * n_pos, sizeof(double))
    W.grad_w = <double *> calloc(c_in * size * size * c_out, sizeof(double))
    W.grad_th = <double *> calloc(c_out, sizeof(double))
    W.map_active = <uint8 *> calloc(c_out, sizeof(uint8))
    W.pos_mark = <uint8 *> calloc(n_pos, sizeof(uint8))
    W.pos_list = <Py_ssize_t *> calloc(n_pos, sizeof(Py_ssize_t))
    W.offset = <double *> calloc(c_out, sizeof(double))
    view = th_min[l]
    W.th_min = &view[0]  # alive in the caller's list
    if adam:
        # Views of the caller's arrays, alive in its list.
        view = moments[4 * l].reshape(-1)
        W.m_w = &view[0]
        view = moments[4 * l + 1].reshape(-1)
        W.v_w = &view[0]
        view = moments[4 * l + 2]
        W.m_th = &view[0]
        view = moments[4 * l + 3]
        W.v_th = &view[0]
    return (W.err != NULL and W.delta != NULL and W.grad_w != NULL and W.grad_th != NULL
            and W.map_active != NULL and W.pos_mark != NULL and W.pos_list != NULL
            and W.offset != NULL)


cdef int _check_training(
    Py_ssize_t n_in, const int64[:, ::1] spatial, list thresholds, list th_min,
    list moments, const int64[::1] sizes, list dense_th_min, list dense_moments,
    bint adam, Py_ssize_t n_samples, const int32[::1] target, const int64[::1] order,
    const int64[::1] counters, list per_sample,
) except -1:
    """What train_epoch indexes by beyond the network, checked once."""
    cdef Py_ssize_t l, i, n_sp = spatial.shape[0], n_dense = sizes.shape[0] - 1
    if n_dense < 1:
        raise ValueError("kernel input sizes: training needs a fully connected output layer")
    check_length("spatial_th_min", len(th_min), n_sp)
    check_length("spatial_moments", len(moments), 4 * n_sp if adam else 0)
    check_length("th_min", len(dense_th_min), n_dense)
    check_length("moments", len(dense_moments), 4 * n_dense if adam else 0)
    cdef tuple shape
    for l in range(n_sp):
        check_shape(f"spatial_th_min[{l}]", np.shape(th_min[l]), np.shape(thresholds[l]))
        for i in range(4 if adam and spatial[l, 0] == CONV else 0):
            shape = (spatial[l, 1], spatial[l, 5], spatial[l, 5], spatial[l, 4])
            check_shape(
                f"spatial_moments[{4 * l + i}]", np.shape(moments[4 * l + i]),
                shape if i < 2 else (spatial[l, 4],),
            )
    for l in range(n_dense):
        check_shape(f"th_min[{l}]", np.shape(dense_th_min[l]), (sizes[l + 1],))
        for i in range(4 if adam else 0):
            shape = (sizes[l], sizes[l + 1])
            check_shape(
                f"moments[{4 * l + i}]", np.shape(dense_moments[4 * l + i]),
                shape if i < 2 else (sizes[l + 1],),
            )
    check_length("target", target.shape[0], n_samples)
    for l in range(len(per_sample)):
        check_length(f"per-sample output {l}", len(per_sample[l]), n_samples)
    check_length("counters", counters.shape[0], 2)
    if order.shape[0] and (np.min(order) < 0 or np.max(order) >= n_samples):
        raise ValueError(f"kernel input order: sample indices must be in 0..{n_samples - 1}")
    if n_samples and (np.min(target) < 0 or np.max(target) >= sizes[n_dense]):
        raise ValueError(
            f"kernel input target: class indices must be in 0..{sizes[n_dense] - 1}")
    return 0


cdef void _free_all(
    Net *net, Scratch *scratch, Py_ssize_t n_sp, double **sp_w, double **sp_th,
    const double **w_ptr, double **th_ptr, double **m_ptr, int64 *counts,
    int32 *all_out, double *error, double *delta, double *below,
) noexcept:
    cdef Py_ssize_t l
    _free_net(net)
    if scratch != NULL:
        for l in range(n_sp):
            free(scratch[l].err)
            free(scratch[l].delta)
            free(scratch[l].grad_w)
            free(scratch[l].grad_th)
            free(scratch[l].map_active)
            free(scratch[l].pos_mark)
            free(scratch[l].pos_list)
            free(scratch[l].offset)
        free(scratch)
    free(sp_w)
    free(sp_th)
    free(w_ptr)
    free(th_ptr)
    free(m_ptr)
    free(counts)
    free(all_out)
    free(error)
    free(delta)
    free(below)
