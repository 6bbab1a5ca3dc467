"""Spike-based backpropagation: one pass over samples, in batches on every core.

The training kernel of both estimators (spikeclf._network): a network of
convolution and pooling layers (none for the fully connected network)
followed by fully connected layers. For each sample: the event-driven forward
pass of spikeclf._conv / spikeclf._lif in training mode (the activities of
Eq. 4, threshold regularization), then the backward pass through the transfer
function of Eq. 6 with the winner-take-all correction and the error
normalization of Eq. 12, down through the fully connected layers and then the
pooling and convolution layers; only active entries are visited (neurons that
fired, inputs that received a spike). The derivation and its sign conventions
are in docs/method.md; the convolutional normalization in docs/cnn.md.

Batches. The samples of a batch are simulated and backpropagated in parallel
threads, all on the parameters as they were at the start of the batch, each
with its own activities, active sets and threshold-regularization changes
(its *slot*). The combine step then, in sample order:

- adds the changes the forward passes made (thresholds and lower-bound
  offsets of threshold regularization): the first sample's values plus the
  others' differences from the start of the batch;
- sums the gradients of Eq. 13 over the batch and makes one optimizer step
  on every entry that some sample touched (SGD: the summed gradient, so that
  the learning rate stays per sample; Adam: one step on the summed gradient,
  lazy as at batch size 1: the moments of touched entries only).

Each entry's sum is taken in sample order whichever thread computes it, so the
result depends on the batch size and never on the number of threads; batch
size 1 is the paper's method, the same arithmetic as one sample after another.
Every thread keeps its own copy of the fully connected weights and makes the
same steps on it (the copies stay equal: a core never reads weights another
core wrote); the shared convolution kernels are combined in parallel by
blocks of rows.

Exponential weight regularization (Eq. 14/15) is decoupled from the optimizer
and applied to every hidden neuron every `reg_every` samples (at the end of
the batch that reaches them), with the step of that many samples, so that one
sample costs O(active synapses), not O(all weights).
"""

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, exp, isfinite, log, sqrt
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

cimport numpy as cnp

import numpy as np

from ._conv cimport (
    CONV, Net, Spatial, _check_events, _check_network, _free_net, _input_event,
    _make_net, _reset_net,
)
from ._lif cimport (
    Layer, _decayed, _settle, check_length, check_shape, int32, int64, uint8,
)

cnp.import_array()


cdef extern from "_lif_simd.h" nogil:
    void *spikeclf_aligned_zeros(size_t n)


# Rows of a convolution kernel that one thread combines at a time: 8 rows of
# float64 span at least one cache line whatever the number of maps, so that two
# threads never write to the same line.
cdef enum:
    ROW_BLOCK = 8



cdef struct Optimizer:
    bint adam
    bint dense               # Adam steps every fully connected entry, a zero
                             # gradient where no sample touched it (else lazy)
    double lr_w, lr_th, beta1, beta2, eps
    double correction1, correction2   # 1 - beta^step, Adam's bias corrections


cdef struct Settings:
    Optimizer opt
    double sigma, reg_beta
    Py_ssize_t reg_every, batch_size
    int n_threads
    bint cross_entropy
    bint firing_outputs      # the backward pass's output neurons: the firing
                             # ones and the target (else all of them)


cdef struct DenseParams:
    # the shared parameters of a fully connected layer
    Py_ssize_t n_in, n_out
    double *w                # (n_in, n_out)
    double *th               # (n_out,)
    double *offset           # (n_out,) lower-bound offsets, folded at regularization
    const double *th_min     # (n_out,)
    double *m_w              # Adam's moments (NULL for SGD)
    double *v_w
    double *m_th
    double *v_th
    double rho, reg
    double lr_w, lr_th       # the layer's learning rates: the solver's times its factor
    # the batch's sums: the rows some sample touched, and the threshold gradients
    int32 *rows              # (n_in,) rows of W that some sample of the batch touched
    uint8 *row_mark          # (n_in,) the row is in rows
    Py_ssize_t n_rows
    double *grad_th          # (n_out,) summed where pending_th is set
    uint8 *pending_th


cdef struct SpatialParams:
    # the shared parameters of a convolution or pooling layer
    int kind
    Py_ssize_t n_rows, c_out   # kernel rows C_in K K (0 for pooling), maps
    double *w                # conv: (C_in, K, K, C_out); NULL for pooling
    double *th               # (C_out,)
    const double *th_min
    double *m_w
    double *v_w
    double *m_th
    double *v_th
    double rho, reg
    double lr_w, lr_th       # the layer's learning rates: the solver's times its factor
    # the combine step's lifts of the kernel of each map (0: none)
    double *lift_combined    # (C_out,) of a combined threshold below its bound
    double *lift_stepped     # (C_out,) of a stepped threshold below its bound
    Py_ssize_t first_job     # its first block of rows among the combine's jobs


cdef struct DenseRecord:
    # what one sample's backward pass leaves for the combine step, one layer
    double *th               # (n_out,) thresholds after the forward pass
    double *offset           # (n_out,) offsets after the forward pass
    int32 *inputs            # (n_in,) active inputs
    double *x                # (n_in,) their activities
    int32 *where             # (n_in,) index of each input in inputs, -1 if silent
    Py_ssize_t n_inputs
    int32 *neurons           # (n_out,) neurons of the backward pass
    double *delta            # (n_out,) their deltas
    double *grad_th          # (n_out,) their threshold gradients
    Py_ssize_t n_neurons     # 0: the error did not reach this layer
    double scale_w           # sqrt(N / m) of Eq. 13


cdef struct SpatialRecord:
    double *th               # (C_out,) thresholds after the forward pass
    double *offset           # (C_out,) kernel lifts of the forward pass (rho > 0)
    double *grad_w           # conv: kernel gradient, zero between batches
    double *grad_th          # conv: (C_out,)
    uint8 *map_active        # conv: (C_out,) the map had an active neuron


cdef struct Slot:
    # written by the combine step's thread, then read by one worker; its records
    # sit on cache lines of their own
    Py_ssize_t sample
    Py_ssize_t cost          # events: the longest samples start first
    DenseRecord *dense
    SpatialRecord *sp


cdef struct ConvScratch:
    double *err              # (n_out,) error of the active neurons by flat index, else 0
    double *delta            # conv: (n_out,) deltas, position-major (pos * C_out + o)
    uint8 *pos_mark          # conv: (n_pos,) the position is in pos_list
    Py_ssize_t *pos_list     # conv: (n_pos,) positions with an active neuron


cdef struct Replica:
    # one thread's copy of a fully connected layer's weights and Adam moments
    # (thread 0: the caller's arrays). Every thread makes the same steps on its
    # own copy, so the copies stay equal, and its forward passes read weights
    # that no other core has written: a 784-800-10 network's 5 MB of weights
    # shared by two cores moved between their caches on every batch, and two
    # threads trained no faster than one.
    double *w
    double *m_w
    double *v_w
    bint owned               # allocated here (threads 1, 2, ...), freed here


cdef struct Worker:
    # one thread's simulation state and backward-pass buffers
    Net *net
    Replica *replicas        # (n_dense,)
    ConvScratch *scratch     # (n_sp,)
    int64 *counts            # (n_out,)
    double *error            # (widest,)
    double *delta
    double *below
    int32 *outputs           # (n_out,) the output neurons of the backward pass
    # the combine step: one row of a layer's summed weight gradient
    double *row_grad         # (widest,)
    uint8 *column_mark       # (widest,) the entry of row_grad holds a sum
    int32 *columns           # (widest,) the entries that do


cdef struct Model:
    Py_ssize_t n_sp, n_dense, n_out, widest
    Py_ssize_t n_conv_jobs   # blocks of ROW_BLOCK kernel rows over all conv layers
    SpatialParams *sp
    DenseParams *dense
    int32 *all_out           # 0 .. n_out - 1: every output neuron is active


# ----------------------------------------------------------------- optimizer
cdef inline void _step(
    double *param, double *m, double *v, double grad, double lr, const Optimizer *opt,
) noexcept nogil:
    """param -= lr * grad (SGD), or the Adam step with bias-corrected moments."""
    if not opt.adam:
        param[0] -= lr * grad
        return
    m[0] = opt.beta1 * m[0] + (1.0 - opt.beta1) * grad
    v[0] = opt.beta2 * v[0] + (1.0 - opt.beta2) * grad * grad
    param[0] -= lr * (m[0] / opt.correction1) / (sqrt(v[0] / opt.correction2) + opt.eps)


cdef inline double *_at(double *moments, Py_ssize_t p) noexcept nogil:
    """Entry p of a moment array, NULL for SGD (no moments)."""
    return &moments[p] if moments != NULL else NULL


# ------------------------------------------------------- one sample, forward
cdef void _activities_at(
    double *value, const double *when, const int32 *active, Py_ssize_t n_active,
    double t_end, double tau,
) noexcept nogil:
    """Replace the lazily kept activities of the active entries by their value
    at t_end (the inputs or the neurons of a fully connected or spatial layer)."""
    cdef Py_ssize_t j, k
    for j in range(n_active):
        k = active[j]
        value[k] = _decayed(value[k], when[k], t_end, tau)


cdef double _output_error(
    const int64 *counts, Py_ssize_t n, int32 target, bint cross_entropy, double *error,
) noexcept nogil:
    """Output error dL/do and the loss; see the ``output_loss`` of the estimator.

    Max-normalized (paper 2.4): o = counts / max(counts), error (o - y) divided by
    sqrt of its number of nonzero entries. Cross-entropy: o = softmax(counts),
    error o - y, loss -log o_target; unlike the max-normalized loss it is never
    zero, so a correct but narrow win still teaches.
    """
    cdef Py_ssize_t i, nonzero = 0
    cdef int64 top = 0
    cdef double o, loss = 0.0, total = 0.0
    for i in range(n):
        if counts[i] > top:
            top = counts[i]
    if cross_entropy:
        # Shift by the top count so that exp never overflows.
        for i in range(n):
            error[i] = exp(<double> (counts[i] - top))
            total += error[i]
        for i in range(n):
            error[i] /= total
        loss = -log(error[target])
        error[target] -= 1.0
        return loss
    for i in range(n):
        o = counts[i] / <double> top if top > 0 else 0.0
        error[i] = o - (1.0 if i == target else 0.0)
        loss += 0.5 * error[i] * error[i]
        nonzero += error[i] != 0.0
    for i in range(n):
        if nonzero > 0:
            error[i] /= sqrt(<double> nonzero)
    return loss


cdef int32 _argmax(const int64 *counts, Py_ssize_t n) noexcept nogil:
    """Most active output neuron (ties: lowest index), -1 with no output spike."""
    cdef Py_ssize_t i, best = 0
    cdef bint any_spike = counts[0] > 0
    for i in range(1, n):
        any_spike = any_spike or counts[i] > 0
        if counts[i] > counts[best]:
            best = i
    if any_spike:
        return <int32> best
    return -1


# ------------------------------------------- one sample, fully connected layers
cdef void _deltas(
    const Layer *L, const int32 *active, Py_ssize_t n_active, double sigma,
    const double *error, double *delta,
) noexcept nogil:
    """delta = (g / g_bar) A^-1 error over the active neurons (docs/method.md).

    A = (1 + sigma kappa) I - sigma kappa 1 1^T is the matrix of Eq. 8; its
    Sherman-Morrison inverse is A^-1 e = (e + d sum(e) / (c - d n)) / c with
    c = 1 + sigma kappa, d = sigma kappa. g = 1 / V_th, g_bar its RMS.
    """
    cdef Py_ssize_t j, i
    cdef double c = 1.0 + sigma * L.kappa, d = sigma * L.kappa
    cdef double total = 0.0, g_square = 0.0, g_bar, shift
    for j in range(n_active):
        i = active[j]
        total += error[j]
        g_square += 1.0 / (L.th[i] * L.th[i])
    g_bar = sqrt(g_square / n_active)
    shift = d * total / (c - d * n_active)
    for j in range(n_active):
        i = active[j]
        delta[j] = (1.0 / L.th[i]) / g_bar * (error[j] + shift) / c


cdef void _error_below(
    const Layer *L, const int32 *active, Py_ssize_t n_active, const double *delta,
    double *error,
) noexcept nogil:
    """Error of the active neurons of the layer below (its active inputs here), Eq. 12.

    sqrt(M / m) * sum over active neurons i of w_ji delta_i, with the weights
    of the start of the batch (offsets of this sample included).
    """
    cdef Py_ssize_t j, s, i, k
    cdef double scale = sqrt(L.n_in / <double> L.n_active_in), acc
    cdef const double *row
    for j in range(L.n_active_in):
        k = L.active_in[j]
        row = L.w + k * L.n_out
        acc = 0.0
        for s in range(n_active):
            i = active[s]
            acc = acc + (row[i] + L.offset[i]) * delta[s]
        error[j] = scale * acc


cdef void _record(
    const Layer *L, const int32 *active, Py_ssize_t n_active, const double *delta,
    double sigma, DenseRecord *R,
) noexcept nogil:
    """What Eq. 13 needs of this sample: active inputs and activities, neurons,
    deltas and threshold gradients."""
    cdef Py_ssize_t j, s, i, k
    cdef double n_in = L.n_in, n_out = L.n_out, m = L.n_active_in
    cdef double scale_th = sqrt(n_out / (m * n_in)), a_total = 0.0, a_hat
    R.scale_w = sqrt(n_out / m)
    R.n_inputs = L.n_active_in
    for j in range(L.n_active_in):
        k = L.active_in[j]
        R.inputs[j] = <int32> k
        R.x[j] = L.x[k]
        R.where[k] = <int32> j
    R.n_neurons = n_active
    for s in range(n_active):
        a_total += L.a[active[s]]
    for s in range(n_active):
        i = active[s]
        R.neurons[s] = active[s]
        R.delta[s] = delta[s]
        # a_hat = gamma a_i - sigma kappa sum_{j != i} a_j, gamma = 1; gradient
        # descent raises the threshold along delta a_hat (the printed sign of
        # Eq. 13 is wrong: docs/method.md).
        a_hat = L.a[i] - sigma * L.kappa * (a_total - L.a[i])
        R.grad_th[s] = -scale_th * delta[s] * a_hat


cdef int _dense_backward(
    Model *M, Worker *W, Slot *slot, double sigma, bint firing_outputs, int32 target,
) noexcept nogil:
    """Backward pass of the fully connected layers, from the output down.

    ``W.error`` holds the output error; every output neuron counts as active
    (a silent target must still learn), or with ``firing_outputs`` the ones
    that fired and the target. With spatial layers below, the error of layer
    0's active inputs is left in ``W.below``. Returns 1 when the error reached
    layer 0, else 0.
    """
    cdef Py_ssize_t l, i, n_active = M.n_out
    cdef const int32 *active = M.all_out
    cdef Layer *L
    if firing_outputs:
        n_active = 0
        for i in range(M.n_out):
            if W.counts[i] > 0 or i == target:
                W.outputs[n_active] = <int32> i
                W.error[n_active] = W.error[i]  # error is indexed by position in active
                n_active += 1
        active = W.outputs
    for l in range(M.n_dense):
        slot.dense[l].n_neurons = 0
    for l in range(M.n_dense - 1, -1, -1):
        L = &W.net.dense[l]
        if n_active == 0 or L.n_active_in == 0:
            return 0
        _deltas(L, active, n_active, sigma, W.error, W.delta)
        if l > 0 or M.n_sp > 0:
            _error_below(L, active, n_active, W.delta, W.below)
        _record(L, active, n_active, W.delta, sigma, &slot.dense[l])
        if l > 0:
            for i in range(L.n_active_in):
                W.error[i] = W.below[i]
            active = L.active_in
            n_active = L.n_active_in
    return 1


# ------------------------------------------------ one sample, spatial layers
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

    Pooling (weights 1, not trained) is the transfer function a_i = s_i / V_th,
    so delta_i = (g_i / g_bar) e_i and its M_i = 4 inputs get sqrt(4 / m_i)
    delta_i each. ``below`` is indexed by P's flat input index, the flat
    output index of the layer below.
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
    const Spatial *S, const double *delta, Py_ssize_t pos, double sigma,
    SpatialRecord *R, double *below,
) noexcept nogil:
    """Kernel and threshold gradients of one position's active neurons, and the
    error they send to the active inputs of their receptive field (when below
    is not NULL). The kernel is read with this sample's lifts (offsets)."""
    cdef Py_ssize_t n = S.c_out, size = S.k, c, ky, kx, k, row, o, i, m = 0
    cdef Py_ssize_t y = pos // S.w_out, x = pos - (pos // S.w_out) * S.w_out
    cdef double n_syn = S.c_in * size * size, n_fan = S.c_out * size * size
    cdef double scale_w, scale_th, scale_e, xk, acc, a_total = 0.0, a_hat
    cdef const double *w
    cdef const double *lift = S.offset
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
                grad = R.grad_w + row
                xk = scale_w * S.x[k]
                acc = 0.0
                for o in range(n):
                    grad[o] += xk * delta[o]
                    acc = acc + (w[o] + lift[o]) * delta[o]
                if below != NULL:
                    below[k] += scale_e * acc
    for o in range(n):
        i = o * S.n_pos + pos
        if S.a_t[i] != -INFINITY:
            a_total += S.a[i]
    for o in range(n):
        i = o * S.n_pos + pos
        if S.a_t[i] != -INFINITY:
            # As for a fully connected layer (the sign of Eq. 13: docs/method.md).
            a_hat = S.a[i] - sigma * S.kappa * (a_total - S.a[i])
            R.grad_th[o] -= scale_th * delta[o] * a_hat


cdef void _conv_backward(
    Spatial *S, ConvScratch *scratch, SpatialRecord *R, double *below, double sigma,
) noexcept nogil:
    """Backward pass of convolution layer S: deltas, gradients, error below.

    Per neuron, the rules of a fully connected layer (docs/cnn.md): a neuron
    at position p has M_i = C_in K K synapses, m_i active; its input k gets
    sqrt(M_i / m_i) w_ik delta_i; delta = (g / g_bar) A^-1 e within the
    winner-take-all group of a position; shared kernels sum Eq. 13 over
    positions with N = C_out K K, the synapses of one input.
    """
    cdef Py_ssize_t j, i, o, pos, p, n_positions = 0
    cdef double g_bar = _g_bar(S)
    for j in range(S.n_active_out):
        i = S.active_out[j]
        o = i // S.n_pos
        pos = i - o * S.n_pos
        R.map_active[o] = 1
        if not scratch.pos_mark[pos]:
            scratch.pos_mark[pos] = 1
            scratch.pos_list[n_positions] = pos
            n_positions += 1
    for p in range(n_positions):
        pos = scratch.pos_list[p]
        scratch.pos_mark[pos] = 0
        _position_deltas(S, scratch.err, pos, sigma, g_bar, scratch.delta + pos * S.c_out)
        _position_gradients(S, scratch.delta + pos * S.c_out, pos, sigma, R, below)


cdef void _spatial_backward(Net *net, ConvScratch *scratch, Slot *slot, double sigma) noexcept nogil:
    """From the error at the last spatial layer's active neurons down to the input."""
    cdef Py_ssize_t l, j
    cdef Spatial *S
    cdef double *below
    for l in range(net.n_sp - 1, -1, -1):
        S = &net.sp[l]
        if S.n_active_out == 0:
            break
        below = scratch[l - 1].err if l > 0 else NULL
        if S.kind == CONV:
            _conv_backward(S, &scratch[l], &slot.sp[l], below, sigma)
        elif below != NULL:
            _pool_backward(S, scratch[l].err, below)
        for j in range(S.n_active_out):
            scratch[l].err[S.active_out[j]] = 0.0
    # A break above leaves no error behind: the inputs of a silent layer are silent.


# --------------------------------------------------------------- one sample
cdef void _load_parameters(Model *M, Worker *W, Slot *slot) noexcept nogil:
    """Point the worker's layers at the slot's copies of the thresholds and offsets."""
    cdef Py_ssize_t l, i
    cdef Layer *L
    cdef Spatial *S
    cdef DenseRecord *R
    cdef SpatialRecord *Q
    for l in range(M.n_dense):
        L = &W.net.dense[l]
        R = &slot.dense[l]
        memcpy(R.th, M.dense[l].th, L.n_out * sizeof(double))
        memcpy(R.offset, M.dense[l].offset, L.n_out * sizeof(double))
        L.th = R.th
        L.offset = R.offset
        for i in range(L.n_out):
            L.neg_th[i] = -R.th[i]
    for l in range(M.n_sp):
        S = &W.net.sp[l]
        Q = &slot.sp[l]
        memcpy(Q.th, M.sp[l].th, S.c_out * sizeof(double))
        S.th = Q.th
        for i in range(S.c_out):
            S.neg_th[i] = -Q.th[i]
        if S.rho > 0.0:
            memset(Q.offset, 0, S.c_out * sizeof(double))
            S.offset = Q.offset


cdef void _train_sample(
    Model *M, Worker *W, Slot *slot, const Settings *cfg,
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, const int32[::1] target, double[::1] loss,
    int32[::1] predicted, int64[::1] out_spikes, int64[::1] synops,
) noexcept nogil:
    """Forward and backward pass of one sample on the parameters of the batch's
    start; the changes it asks for are left in its slot."""
    cdef Net *net = W.net
    cdef Py_ssize_t sample = slot.sample, e, l, i, j
    cdef double stop = t_end[sample]
    cdef Spatial *S
    cdef Layer *L
    _load_parameters(M, W, slot)
    _reset_net(net)
    for i in range(M.n_out):
        W.counts[i] = 0
    net.rec.n_spikes = 0
    for e in range(indptr[sample], indptr[sample + 1]):
        if t[e] > stop:
            break
        _input_event(net, channel[e], t[e])
    synops[sample] = 0
    for l in range(M.n_sp):
        S = &net.sp[l]
        _activities_at(S.x, S.x_t, S.active_in, S.n_active_in, stop, S.activity_tau)
        _activities_at(S.a, S.a_t, S.active_out, S.n_active_out, stop, S.activity_tau)
        synops[sample] += S.synops
    for l in range(M.n_dense):
        L = &net.dense[l]
        _settle(L)
        _activities_at(L.x, L.x_t, L.active_in, L.n_active_in, stop, L.activity_tau)
        _activities_at(L.a, L.a_t, L.active_out, L.n_active_out, stop, L.activity_tau)
        synops[sample] += L.synops
    out_spikes[sample] = net.rec.n_spikes
    predicted[sample] = _argmax(W.counts, M.n_out)
    loss[sample] = _output_error(W.counts, M.n_out, target[sample], cfg.cross_entropy, W.error)
    if _dense_backward(M, W, slot, cfg.sigma, cfg.firing_outputs, target[sample]) == 1 and M.n_sp > 0:
        L = &net.dense[0]
        for j in range(L.n_active_in):
            W.scratch[M.n_sp - 1].err[L.active_in[j]] = W.below[j]
        _spatial_backward(net, W.scratch, slot, cfg.sigma)


# ------------------------------------------------------------- combine step
cdef bint _step_sample(
    const DenseParams *P, Replica *rep, const DenseRecord *R, const Optimizer *opt,
) noexcept nogil:
    """Eq. 13 of a batch of one sample: a step on every active synapse of its
    active neurons, as the paper's sample-by-sample method."""
    cdef Py_ssize_t j, s, p, row
    cdef double xk, grad
    cdef bint finite = True
    for j in range(R.n_inputs):
        row = R.inputs[j] * P.n_out
        xk = R.x[j]
        for s in range(R.n_neurons):
            p = row + R.neurons[s]
            grad = R.scale_w * R.delta[s] * xk
            _step(&rep.w[p], _at(rep.m_w, p), _at(rep.v_w, p), grad, P.lr_w, opt)
            finite = finite and isfinite(rep.w[p])
    return finite


cdef void _touched_rows(DenseParams *P, Slot *slots, Py_ssize_t n_slots, Py_ssize_t l) noexcept nogil:
    """The rows of W some sample of the batch touched (its active inputs)."""
    cdef Py_ssize_t b, j, k
    cdef const DenseRecord *R
    P.n_rows = 0
    for b in range(n_slots):
        R = &slots[b].dense[l]
        if R.n_neurons == 0:
            continue
        for j in range(R.n_inputs):
            k = R.inputs[j]
            if not P.row_mark[k]:
                P.row_mark[k] = 1
                P.rows[P.n_rows] = <int32> k
                P.n_rows += 1


cdef bint _step_rows(
    const DenseParams *P, Replica *rep, Slot *slots, Py_ssize_t n_slots, Py_ssize_t l,
    Worker *W, const Optimizer *opt,
) noexcept nogil:
    """For each touched row (every row, for dense Adam): the row of the batch's
    summed gradient, summed in sample order, then one step on its entries some
    sample touched (on all, for dense Adam). A row's sum stays in the
    worker's cache. Returns whether all are finite."""
    cdef Py_ssize_t r, b, j, s, i, c, k, n_columns, row
    cdef Py_ssize_t n_rows = P.n_in if opt.dense else P.n_rows
    cdef double xk, grad
    cdef bint finite = True
    cdef const DenseRecord *R
    for r in range(n_rows):
        k = r if opt.dense else P.rows[r]
        n_columns = 0
        for b in range(n_slots):
            R = &slots[b].dense[l]
            j = R.where[k]
            if j < 0 or R.n_neurons == 0:
                continue
            xk = R.x[j]
            for s in range(R.n_neurons):
                i = R.neurons[s]
                grad = R.scale_w * R.delta[s] * xk
                if W.column_mark[i]:
                    W.row_grad[i] += grad
                else:
                    W.row_grad[i] = grad
                    W.column_mark[i] = 1
                    W.columns[n_columns] = <int32> i
                    n_columns += 1
        row = k * P.n_out
        if opt.dense:
            for i in range(P.n_out):
                grad = W.row_grad[i] if W.column_mark[i] else 0.0
                W.column_mark[i] = 0
                _step(&rep.w[row + i], &rep.m_w[row + i], &rep.v_w[row + i], grad,
                      P.lr_w, opt)
                finite = finite and isfinite(rep.w[row + i])
            continue
        for c in range(n_columns):
            i = W.columns[c]
            W.column_mark[i] = 0
            _step(&rep.w[row + i], _at(rep.m_w, row + i), _at(rep.v_w, row + i),
                  W.row_grad[i], P.lr_w, opt)
            finite = finite and isfinite(rep.w[row + i])
    return finite


cdef bint _step_weights(
    Model *M, Worker *W, Slot *slots, Py_ssize_t n_slots, const Optimizer *opt,
) noexcept nogil:
    """The batch's step on one worker's copy of the fully connected weights."""
    cdef Py_ssize_t l
    cdef bint finite = True
    for l in range(M.n_dense):
        if n_slots == 1 and not opt.dense:
            finite = _step_sample(&M.dense[l], &W.replicas[l], &slots[0].dense[l],
                                  opt) and finite
        else:
            finite = _step_rows(&M.dense[l], &W.replicas[l], slots, n_slots, l, W,
                                opt) and finite
    return finite


cdef void _clear_rows(DenseParams *P, Slot *slots, Py_ssize_t n_slots, Py_ssize_t l) noexcept nogil:
    """Ready the row marks and the slots' input maps for the next batch."""
    cdef Py_ssize_t b, j, r
    cdef DenseRecord *R
    for r in range(P.n_rows):
        P.row_mark[P.rows[r]] = 0
    P.n_rows = 0
    for b in range(n_slots):
        R = &slots[b].dense[l]
        for j in range(R.n_inputs):
            R.where[R.inputs[j]] = -1
        R.n_inputs = 0


cdef bint _step_dense_thresholds(
    DenseParams *P, Slot *slots, Py_ssize_t n_slots, Py_ssize_t l, const Optimizer *opt,
) noexcept nogil:
    """Thresholds and offsets of the forward passes combined, then the step on the
    batch's threshold gradients; a threshold below its bound lifts the offset."""
    cdef Py_ssize_t b, s, i
    cdef double th, offset
    cdef bint finite = True
    cdef DenseRecord *R
    for i in range(P.n_out):
        # The first sample's values plus the others' changes from the start of
        # the batch: exactly the first's at batch size 1.
        th = slots[0].dense[l].th[i]
        offset = slots[0].dense[l].offset[i]
        for b in range(1, n_slots):
            th += slots[b].dense[l].th[i] - P.th[i]
            offset += slots[b].dense[l].offset[i] - P.offset[i]
        if th < P.th_min[i]:  # only when several samples lowered it
            offset += P.th_min[i] - th
            th = P.th_min[i]
        P.th[i] = th
        P.offset[i] = offset
    for b in range(n_slots):
        R = &slots[b].dense[l]
        for s in range(R.n_neurons):
            i = R.neurons[s]
            if P.pending_th[i]:
                P.grad_th[i] += R.grad_th[s]
            else:
                P.grad_th[i] = R.grad_th[s]
                P.pending_th[i] = 1
    if opt.dense:
        for i in range(P.n_out):
            if not P.pending_th[i]:
                P.grad_th[i] = 0.0
            P.pending_th[i] = 0
            _step_threshold(P, i, opt)
    for b in range(n_slots if not opt.dense else 0):
        R = &slots[b].dense[l]
        for s in range(R.n_neurons):
            i = R.neurons[s]
            if not P.pending_th[i]:
                continue
            P.pending_th[i] = 0
            _step_threshold(P, i, opt)
    for i in range(P.n_out):
        finite = finite and isfinite(P.th[i]) and isfinite(P.offset[i])
    return finite


cdef inline void _step_threshold(DenseParams *P, Py_ssize_t i, const Optimizer *opt) noexcept nogil:
    """The step of threshold i on its summed gradient; below its bound, it stays
    there and its offset lifts the neuron's weights instead."""
    _step(&P.th[i], _at(P.m_th, i), _at(P.v_th, i), P.grad_th[i], P.lr_th, opt)
    if P.th[i] < P.th_min[i]:
        P.offset[i] += P.th_min[i] - P.th[i]
        P.th[i] = P.th_min[i]


cdef bint _step_conv_thresholds(
    SpatialParams *P, Slot *slots, Py_ssize_t n_slots, Py_ssize_t l, const Optimizer *opt,
) noexcept nogil:
    """The combine step of a convolution layer's thresholds, map by map: the
    forward passes' thresholds combined, then one step for the maps some sample
    activated. A threshold below its bound stays there; the lift its kernel
    takes instead is left in P.lift_combined and P.lift_stepped for
    _step_conv_rows. Sums the slots' activity flags and threshold gradients
    into the first slot's."""
    cdef Py_ssize_t n = P.c_out, o, b
    cdef double th, start
    cdef bint finite = True
    cdef SpatialRecord *first = &slots[0].sp[l]
    cdef SpatialRecord *R
    for o in range(n):
        for b in range(1, n_slots):
            R = &slots[b].sp[l]
            first.grad_th[o] += R.grad_th[o]
            first.map_active[o] |= R.map_active[o]
            R.grad_th[o] = 0.0
            R.map_active[o] = 0
        start = P.th[o]
        th = first.th[o]
        for b in range(1, n_slots):
            th += slots[b].sp[l].th[o] - start
        P.lift_combined[o] = 0.0
        if th < P.th_min[o]:  # only when several samples lowered it
            P.lift_combined[o] = P.th_min[o] - th
            th = P.th_min[o]
        P.th[o] = th
        P.lift_stepped[o] = 0.0
        if first.map_active[o]:
            _step(&P.th[o], _at(P.m_th, o), _at(P.v_th, o), first.grad_th[o], P.lr_th, opt)
            if P.th[o] < P.th_min[o]:
                P.lift_stepped[o] = P.th_min[o] - P.th[o]
                P.th[o] = P.th_min[o]
            finite = finite and isfinite(P.th[o])
        first.grad_th[o] = 0.0
    return finite


cdef bint _step_conv_rows(
    SpatialParams *P, Slot *slots, Py_ssize_t n_slots, Py_ssize_t l, Py_ssize_t r0,
    Py_ssize_t r1, const Optimizer *opt,
) noexcept nogil:
    """Kernel rows r0 .. r1 - 1 of a convolution layer's combine step, entry by
    entry in the order of one sample's: the forward passes' lifts, the
    combined thresholds' lift, the step on the summed gradient of an active
    map, the stepped threshold's lift. Clears the slots' gradient sums."""
    cdef Py_ssize_t n = P.c_out, r, o, p, b
    cdef double grad
    cdef bint finite = True
    cdef SpatialRecord *first = &slots[0].sp[l]
    cdef SpatialRecord *R
    for r in range(r0, r1):
        for o in range(n):
            p = r * n + o
            if P.rho > 0.0:
                for b in range(n_slots):
                    P.w[p] += slots[b].sp[l].offset[o]
            if P.lift_combined[o] != 0.0:
                P.w[p] += P.lift_combined[o]
            grad = first.grad_w[p]
            for b in range(1, n_slots):
                R = &slots[b].sp[l]
                grad += R.grad_w[p]
                R.grad_w[p] = 0.0
            first.grad_w[p] = 0.0
            if first.map_active[o]:
                _step(&P.w[p], _at(P.m_w, p), _at(P.v_w, p), grad, P.lr_w, opt)
                finite = finite and isfinite(P.w[p])
            if P.lift_stepped[o] != 0.0:
                P.w[p] += P.lift_stepped[o]
    return finite


cdef void _clear_maps(SpatialParams *P, Slot *slots, Py_ssize_t l) noexcept nogil:
    cdef Py_ssize_t o
    for o in range(P.c_out):
        slots[0].sp[l].map_active[o] = 0


cdef void _regularize_replica(
    const DenseParams *P, Replica *rep, double step, double beta, double *norm,
) noexcept nogil:
    """Fold the offsets into one copy of the weights, then exponential weight
    decay (Eq. 15).

    w_i <- w_i exp(-step beta exp(beta (|w_i|^2 - 1))) for every neuron i: the
    decay of Eq. 15 over the samples since the last call (step = lr lambda
    times their number), in two passes over the rows of W (contiguous).
    """
    cdef Py_ssize_t k, i, n = P.n_out
    cdef double *row
    for i in range(n):
        norm[i] = 0.0
    for k in range(P.n_in):
        row = rep.w + k * n
        for i in range(n):
            row[i] += P.offset[i]
            norm[i] += row[i] * row[i]
    for i in range(n):
        norm[i] = exp(-step * beta * exp(beta * (norm[i] - 1.0))) if step > 0 else 1.0
    if step > 0:
        for k in range(P.n_in):
            row = rep.w + k * n
            for i in range(n):
                row[i] *= norm[i]


cdef void _regularize_worker(
    Model *M, Worker *W, Py_ssize_t n_samples, double beta,
) noexcept nogil:
    cdef Py_ssize_t l
    for l in range(M.n_dense):
        _regularize_replica(
            &M.dense[l], &W.replicas[l], M.dense[l].lr_w * M.dense[l].reg * n_samples, beta,
            W.row_grad)


cdef void _regularize_kernels(SpatialParams *P, double step, double beta, double *norm) noexcept nogil:
    """Eq. 15 with each feature map's kernel as the weight vector of a neuron."""
    cdef Py_ssize_t n = P.c_out, r, o
    if step <= 0.0:
        return
    for o in range(n):
        norm[o] = 0.0
    for r in range(P.n_rows):
        for o in range(n):
            norm[o] += P.w[r * n + o] * P.w[r * n + o]
    for o in range(n):
        norm[o] = exp(-step * beta * exp(beta * (norm[o] - 1.0)))
    for r in range(P.n_rows):
        for o in range(n):
            P.w[r * n + o] *= norm[o]


cdef void _regularize(
    Model *M, Worker *workers, Py_ssize_t n_samples, double beta,
    int n_threads, double *work,
) noexcept nogil:
    """Weight regularization over n_samples (0: fold the dense offsets only),
    each thread on its copy of the fully connected weights."""
    cdef Py_ssize_t l, i, t
    if n_threads == 1:
        _regularize_worker(M, &workers[0], n_samples, beta)
    else:
        for t in prange(n_threads, num_threads=n_threads, schedule="static", chunksize=1):
            _regularize_worker(M, &workers[t], n_samples, beta)
    for l in range(M.n_dense):
        for i in range(M.dense[l].n_out):
            M.dense[l].offset[i] = 0.0
    for l in range(M.n_sp if n_samples > 0 else 0):
        if M.sp[l].kind == CONV:
            _regularize_kernels(&M.sp[l], M.sp[l].lr_w * M.sp[l].reg * n_samples, beta, work)


cdef bint _combine(
    Model *M, Slot *slots, Py_ssize_t n_slots, Settings *cfg, int64 *counters,
    Worker *workers, uint8 *finite_parts,
) noexcept nogil:
    """The batch's one optimizer step; returns whether every parameter is finite.

    Every thread steps its own copy of the fully connected weights (the same
    steps: the copies stay equal); the kernels of convolution layers, shared,
    in parallel by blocks of rows.
    """
    cdef Py_ssize_t l, job, t
    cdef bint finite = True
    cdef Optimizer *opt = &cfg.opt
    if opt.adam:
        counters[0] += 1
        opt.correction1 = 1.0 - opt.beta1 ** counters[0]
        opt.correction2 = 1.0 - opt.beta2 ** counters[0]
    if n_slots > 1 or opt.dense:
        for l in range(M.n_dense):
            _touched_rows(&M.dense[l], slots, n_slots, l)
    if cfg.n_threads == 1:
        finite = _step_weights(M, &workers[0], slots, n_slots, opt)
    else:
        # Iteration t on thread t (a static schedule), each on its own copy.
        for t in prange(cfg.n_threads, num_threads=cfg.n_threads, schedule="static",
                        chunksize=1):
            finite_parts[t] = _step_weights(M, &workers[t], slots, n_slots, opt)
        for t in range(cfg.n_threads):
            finite = finite and finite_parts[t]
    for l in range(M.n_dense):
        _clear_rows(&M.dense[l], slots, n_slots, l)
        finite = _step_dense_thresholds(&M.dense[l], slots, n_slots, l, opt) and finite
    for l in range(M.n_sp):
        if M.sp[l].kind == CONV:
            finite = _step_conv_thresholds(&M.sp[l], slots, n_slots, l, opt) and finite
    if M.n_conv_jobs > 0:
        # The kernels by blocks of rows, in parallel: each entry's arithmetic
        # is the same whichever thread does it.
        for job in prange(M.n_conv_jobs, num_threads=cfg.n_threads, schedule="dynamic"):
            finite_parts[job] = _step_conv_job(M, slots, n_slots, job, opt)
        for job in range(M.n_conv_jobs):
            finite = finite and finite_parts[job]
    for l in range(M.n_sp):
        if M.sp[l].kind == CONV:
            _clear_maps(&M.sp[l], slots, l)
    return finite


cdef bint _step_conv_job(
    Model *M, Slot *slots, Py_ssize_t n_slots, Py_ssize_t job, const Optimizer *opt,
) noexcept nogil:
    """One block of ROW_BLOCK kernel rows of one convolution layer."""
    cdef Py_ssize_t l = M.n_sp - 1, r0
    while M.sp[l].kind != CONV or M.sp[l].first_job > job:
        l -= 1
    r0 = (job - M.sp[l].first_job) * ROW_BLOCK
    return _step_conv_rows(
        &M.sp[l], slots, n_slots, l, r0, min(r0 + ROW_BLOCK, M.sp[l].n_rows), opt)


cdef void _by_cost(Slot *slots, Py_ssize_t n, Py_ssize_t *order) noexcept nogil:
    """Slots by decreasing number of events (insertion sort: a batch is short),
    so that the threads finish together; the combine step keeps sample order."""
    cdef Py_ssize_t i, j, b
    for i in range(n):
        b = i
        j = i
        while j > 0 and slots[order[j - 1]].cost < slots[b].cost:
            order[j] = order[j - 1]
            j -= 1
        order[j] = b


# -------------------------------------------------------------------- entry
def train_epoch(
    object packed,
    const double[::1] t_end,
    const int32[::1] target,
    const int64[::1] order,
    object network,
    object solver,
    object result,
):
    """Train on the samples in ``order``, in batches; update the network in place.

    Parameters
    ----------
    packed : spikeclf.events.PackedEvents
        The events (channel: the flat index of (c, y, x) in the input).
    t_end : (n_samples,) end of each presentation (us): activities are read there.
    target : (n_samples,) class index of each sample.
    order : the samples to visit, in batches of ``solver.batch_size``.
    network : spikeclf._network.Network or ConvNetwork; its ``kernel_layers()``
        give the arrays (updated in place) and constants of every layer.
    solver : spikeclf._network.Solver, the settings of the pass.
    result : spikeclf._network.EpochResult, written for the visited samples
        (predicted -1 when no output neuron fired).

    Returns
    -------
    status : int
        0; -1 when memory ran out; -2 when a threshold or weight became NaN or
        infinite (training diverged; the parameters are then not to be trusted).
    """
    cdef Settings cfg = _settings(solver)
    cdef dict arrays = network.kernel_layers(solver)
    cdef const int32[::1] channel = packed.channel
    cdef const double[::1] t = packed.t
    cdef const int64[::1] indptr = packed.indptr
    cdef double[::1] loss = result.loss
    cdef int32[::1] predicted = result.predicted
    cdef int64[::1] out_spikes = result.output_spikes
    cdef int64[::1] synops = result.synops
    cdef int64[::1] counters = network.counters
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1
    _check_arguments(arrays, channel, t, indptr, t_end, target, order, cfg,
                     [loss, predicted, out_spikes, synops], counters)

    cdef Model M
    cdef Worker *workers = NULL
    cdef Slot *slots = NULL
    cdef Py_ssize_t *exec_order = NULL
    cdef uint8 *finite_parts = NULL
    cdef double *work = NULL
    cdef int status = 0
    cdef Py_ssize_t start, n_slots, b, j, i, n_visit = order.shape[0]
    cdef bint finite
    cdef Py_ssize_t n_threads = cfg.n_threads

    memset(&M, 0, sizeof(Model))
    status = _make_model(&M, arrays, cfg)
    if status == 0:
        workers = <Worker *> calloc(n_threads, sizeof(Worker))
        slots = <Slot *> calloc(cfg.batch_size, sizeof(Slot))
        exec_order = <Py_ssize_t *> calloc(cfg.batch_size, sizeof(Py_ssize_t))
        finite_parts = <uint8 *> calloc(max(n_threads, M.n_conv_jobs), sizeof(uint8))
        work = <double *> calloc(M.widest, sizeof(double))
        if (workers == NULL or slots == NULL or exec_order == NULL
                or finite_parts == NULL or work == NULL):
            status = -1
    for i in range(n_threads if status == 0 else 0):
        if not _make_worker(&workers[i], &M, arrays, cfg, i > 0):
            status = -1
    for b in range(cfg.batch_size if status == 0 else 0):
        if not _make_slot(&slots[b], &M):
            status = -1
    if status != 0:
        _free_all(&M, workers, n_threads, slots, cfg.batch_size, exec_order,
                  finite_parts, work)
        return status

    with nogil:
        start = 0
        while start < n_visit:
            n_slots = min(cfg.batch_size, n_visit - start)
            for b in range(n_slots):
                slots[b].sample = order[start + b]
                slots[b].cost = indptr[order[start + b] + 1] - indptr[order[start + b]]
            if n_threads == 1 or n_slots == 1:
                for b in range(n_slots):
                    _train_sample(&M, &workers[0], &slots[b], &cfg, channel, t, indptr,
                                  t_end, target, loss, predicted, out_spikes, synops)
            else:
                _by_cost(slots, n_slots, exec_order)
                for j in prange(n_slots, num_threads=n_threads, schedule="dynamic", chunksize=1):
                    _train_sample(&M, &workers[threadid()], &slots[exec_order[j]], &cfg,
                                  channel, t, indptr, t_end, target, loss, predicted,
                                  out_spikes, synops)
            finite = _combine(&M, slots, n_slots, &cfg, &counters[0], workers, finite_parts)
            start += n_slots
            if not finite:
                status = -2
                break  # the parameters of this batch are not to be trusted
            counters[1] += n_slots
            if counters[1] >= cfg.reg_every:
                _regularize(&M, workers, counters[1], cfg.reg_beta, cfg.n_threads, work)
                counters[1] = 0
        _regularize(&M, workers, 0, cfg.reg_beta, cfg.n_threads, work)
    _free_all(&M, workers, n_threads, slots, cfg.batch_size, exec_order, finite_parts, work)
    return status


# -------------------------------------------------------------------- setup
cdef Settings _settings(object solver) except *:
    """The solver's settings as the nogil loops read them."""
    cdef Settings cfg
    adam = solver.adam
    memset(&cfg, 0, sizeof(Settings))
    cfg.opt.adam = adam is not None
    cfg.opt.beta1, cfg.opt.beta2, cfg.opt.eps = adam if adam is not None else (0.9, 0.999, 1e-8)
    cfg.opt.lr_w = solver.lr_w
    cfg.opt.lr_th = solver.lr_th
    cfg.opt.correction1 = 1.0
    cfg.opt.correction2 = 1.0
    cfg.sigma = solver.sigma
    cfg.reg_beta = solver.reg_beta
    cfg.reg_every = solver.reg_every
    cfg.batch_size = solver.batch_size
    cfg.n_threads = solver.n_threads
    cfg.cross_entropy = solver.output_loss == "cross_entropy"
    cfg.firing_outputs = solver.output_neurons == "firing"
    cfg.opt.dense = cfg.opt.adam and solver.adam_update == "dense"
    if cfg.batch_size < 1 or cfg.n_threads < 1 or cfg.reg_every < 1:
        raise ValueError(
            f"kernel input solver: batch_size {cfg.batch_size}, n_threads "
            f"{cfg.n_threads} and reg_every {cfg.reg_every} must be at least 1")
    return cfg


cdef double *_pointer(object array):
    """The first element of a C-contiguous float64 array (alive in the caller's lists)."""
    cdef double[::1] view = array.reshape(-1)
    return &view[0]


cdef int _make_model(Model *M, dict arrays, Settings cfg) except -1:
    """The shared parameters, and the batch's sums when batches have several samples."""
    cdef Py_ssize_t l, n_sp = len(arrays["spatial_kind"]), n_dense = len(arrays["weights"])
    cdef DenseParams *P
    cdef SpatialParams *Q
    cdef bint adam = cfg.opt.adam
    sizes = arrays["sizes"]
    M.n_sp = n_sp
    M.n_dense = n_dense
    M.n_out = sizes[n_dense]
    M.widest = max(max(sizes), max([int(c) for c in arrays["spatial_c_out"]] or [0]))
    M.dense = <DenseParams *> calloc(n_dense, sizeof(DenseParams))
    M.sp = <SpatialParams *> calloc(max(n_sp, 1), sizeof(SpatialParams))
    M.all_out = <int32 *> calloc(M.n_out, sizeof(int32))
    if M.dense == NULL or M.sp == NULL or M.all_out == NULL:
        return -1
    for l in range(M.n_out):
        M.all_out[l] = <int32> l
    for l in range(n_dense):
        P = &M.dense[l]
        P.n_in, P.n_out = sizes[l], sizes[l + 1]
        P.w = _pointer(arrays["weights"][l])
        P.th = _pointer(arrays["thresholds"][l])
        P.th_min = _pointer(arrays["th_min"][l])
        P.rho = arrays["rho"][n_sp + l]
        P.reg = arrays["reg_lambda"][n_sp + l]
        P.lr_w = cfg.opt.lr_w * arrays["lr_factor"][n_sp + l]
        P.lr_th = cfg.opt.lr_th * arrays["lr_factor"][n_sp + l]
        if adam:
            moments = arrays["moments"]
            P.m_w = _pointer(moments[4 * l])
            P.v_w = _pointer(moments[4 * l + 1])
            P.m_th = _pointer(moments[4 * l + 2])
            P.v_th = _pointer(moments[4 * l + 3])
        P.offset = <double *> spikeclf_aligned_zeros(P.n_out * sizeof(double))
        P.grad_th = <double *> spikeclf_aligned_zeros(P.n_out * sizeof(double))
        P.pending_th = <uint8 *> spikeclf_aligned_zeros(P.n_out * sizeof(uint8))
        if P.offset == NULL or P.grad_th == NULL or P.pending_th == NULL:
            return -1
        P.rows = <int32 *> spikeclf_aligned_zeros(P.n_in * sizeof(int32))
        P.row_mark = <uint8 *> spikeclf_aligned_zeros(P.n_in * sizeof(uint8))
        if P.rows == NULL or P.row_mark == NULL:
            return -1
    for l in range(n_sp):
        Q = &M.sp[l]
        Q.kind = arrays["spatial_kind"][l]
        Q.c_out = arrays["spatial_c_out"][l]
        Q.th = _pointer(arrays["spatial_thresholds"][l])
        Q.th_min = _pointer(arrays["spatial_th_min"][l])
        Q.rho = arrays["rho"][l] if Q.kind == CONV else 0.0
        Q.reg = arrays["reg_lambda"][l]
        Q.lr_w = cfg.opt.lr_w * arrays["lr_factor"][l]
        Q.lr_th = cfg.opt.lr_th * arrays["lr_factor"][l]
        if Q.kind == CONV:
            Q.w = _pointer(arrays["kernels"][l])
            Q.n_rows = arrays["kernels"][l].size // Q.c_out
            Q.first_job = M.n_conv_jobs
            M.n_conv_jobs += (Q.n_rows + ROW_BLOCK - 1) // ROW_BLOCK
            Q.lift_combined = <double *> spikeclf_aligned_zeros(Q.c_out * sizeof(double))
            Q.lift_stepped = <double *> spikeclf_aligned_zeros(Q.c_out * sizeof(double))
            if Q.lift_combined == NULL or Q.lift_stepped == NULL:
                return -1
            if adam:
                moments = arrays["spatial_moments"]
                Q.m_w = _pointer(moments[4 * l])
                Q.v_w = _pointer(moments[4 * l + 1])
                Q.m_th = _pointer(moments[4 * l + 2])
                Q.v_th = _pointer(moments[4 * l + 3])
    return 0


cdef bint _make_worker(Worker *W, Model *M, dict arrays, Settings cfg, bint copy):
    """One thread's network state, its copy of the fully connected weights
    (``copy``; else the caller's arrays) and backward-pass buffers."""
    cdef Py_ssize_t l, n_sp = M.n_sp, n_dense = M.n_dense
    cdef double **sp_w = <double **> calloc(n_sp + 1, sizeof(double *))
    cdef double **sp_th = <double **> calloc(n_sp + 1, sizeof(double *))
    cdef const double **w_ptr = <const double **> calloc(n_dense, sizeof(double *))
    cdef double **th_ptr = <double **> calloc(n_dense, sizeof(double *))
    cdef bint ok = sp_w != NULL and sp_th != NULL and w_ptr != NULL and th_ptr != NULL
    cdef Spatial *S
    cdef Layer *L
    cdef const int64[:, ::1] spatial = arrays["spatial"]
    cdef const int64[::1] sizes = arrays["sizes"]
    cdef const double[::1] sp_tau = arrays["spatial_tau"]
    cdef const double[::1] sp_t_ref = arrays["spatial_t_ref"]
    cdef const double[::1] sp_kappa = arrays["spatial_kappa"]
    cdef const double[::1] tau = arrays["tau"]
    cdef const double[::1] t_ref = arrays["t_ref"]
    cdef const double[::1] kappa = arrays["kappa"]
    cdef double activity_tau = arrays["activity_tau"]
    W.replicas = <Replica *> spikeclf_aligned_zeros(max(n_dense, 1) * sizeof(Replica))
    ok = ok and W.replicas != NULL and _make_replicas(W.replicas, M, cfg.opt.adam, copy)
    if ok:
        for l in range(n_sp):
            sp_w[l] = M.sp[l].w
            sp_th[l] = M.sp[l].th
        for l in range(n_dense):
            w_ptr[l] = W.replicas[l].w
            th_ptr[l] = M.dense[l].th
        W.net = _make_net(n_sp, spatial, sp_w, sp_th, sp_tau, sp_t_ref, sp_kappa,
                          n_dense, sizes, w_ptr, th_ptr, tau, t_ref, kappa, True)
        ok = W.net != NULL
    free(sp_w)
    free(sp_th)
    free(w_ptr)
    free(th_ptr)
    if not ok:
        return False
    for l in range(n_sp):
        S = &W.net.sp[l]
        S.activity_tau = activity_tau
        S.th_min = M.sp[l].th_min
        S.rho = M.sp[l].rho
    for l in range(n_dense):
        L = &W.net.dense[l]
        L.training = True
        L.activity_tau = activity_tau
        L.th_min = M.dense[l].th_min
        L.rho = M.dense[l].rho
    W.counts = <int64 *> spikeclf_aligned_zeros(M.n_out * sizeof(int64))
    W.error = <double *> spikeclf_aligned_zeros(M.widest * sizeof(double))
    W.delta = <double *> spikeclf_aligned_zeros(M.widest * sizeof(double))
    W.below = <double *> spikeclf_aligned_zeros(M.widest * sizeof(double))
    W.scratch = <ConvScratch *> spikeclf_aligned_zeros(max(n_sp, 1) * sizeof(ConvScratch))
    W.outputs = <int32 *> spikeclf_aligned_zeros(M.n_out * sizeof(int32))
    W.row_grad = <double *> spikeclf_aligned_zeros(M.widest * sizeof(double))
    W.column_mark = <uint8 *> spikeclf_aligned_zeros(M.widest * sizeof(uint8))
    W.columns = <int32 *> spikeclf_aligned_zeros(M.widest * sizeof(int32))
    W.net.rec.counts = W.counts
    W.net.rec.spike_t = NULL
    W.net.rec.spike_i = NULL
    W.net.rec.capacity = 0
    ok = (W.counts != NULL and W.error != NULL and W.delta != NULL and W.below != NULL
          and W.scratch != NULL and W.outputs != NULL and W.row_grad != NULL
          and W.column_mark != NULL
          and W.columns != NULL)
    for l in range(n_sp if ok else 0):
        S = &W.net.sp[l]
        W.scratch[l].err = <double *> spikeclf_aligned_zeros(S.n_out * sizeof(double))
        ok = ok and W.scratch[l].err != NULL
        if S.kind == CONV:
            W.scratch[l].delta = <double *> spikeclf_aligned_zeros(S.n_out * sizeof(double))
            W.scratch[l].pos_mark = <uint8 *> spikeclf_aligned_zeros(S.n_pos * sizeof(uint8))
            W.scratch[l].pos_list = <Py_ssize_t *> spikeclf_aligned_zeros(S.n_pos * sizeof(Py_ssize_t))
            ok = ok and W.scratch[l].delta != NULL and W.scratch[l].pos_mark != NULL
            ok = ok and W.scratch[l].pos_list != NULL
    return ok


cdef bint _make_replicas(Replica *replicas, Model *M, bint adam, bint copy) noexcept nogil:
    """The weights (and Adam's moments) of every fully connected layer: the
    caller's arrays, or copies of them on cache lines of the thread's own."""
    cdef Py_ssize_t l, size
    cdef Replica *rep
    for l in range(M.n_dense):
        rep = &replicas[l]
        rep.w, rep.m_w, rep.v_w = M.dense[l].w, M.dense[l].m_w, M.dense[l].v_w
        rep.owned = copy
        if not copy:
            continue
        size = M.dense[l].n_in * M.dense[l].n_out * sizeof(double)
        rep.w = <double *> spikeclf_aligned_zeros(size)
        rep.m_w = <double *> spikeclf_aligned_zeros(size) if adam else NULL
        rep.v_w = <double *> spikeclf_aligned_zeros(size) if adam else NULL
        if rep.w == NULL or (adam and (rep.m_w == NULL or rep.v_w == NULL)):
            return False
        memcpy(rep.w, M.dense[l].w, size)
        if adam:
            memcpy(rep.m_w, M.dense[l].m_w, size)
            memcpy(rep.v_w, M.dense[l].v_w, size)
    return True


cdef bint _make_slot(Slot *slot, Model *M):
    """One sample's record of a batch, in allocations of its own (no cache line
    shared with another sample's)."""
    cdef Py_ssize_t l, j, n_in, n_out, c_out, n_kernel
    cdef DenseRecord *R
    cdef SpatialRecord *Q
    cdef bint ok
    slot.dense = <DenseRecord *> spikeclf_aligned_zeros(M.n_dense * sizeof(DenseRecord))
    slot.sp = <SpatialRecord *> spikeclf_aligned_zeros(max(M.n_sp, 1) * sizeof(SpatialRecord))
    ok = slot.dense != NULL and slot.sp != NULL
    for l in range(M.n_dense if ok else 0):
        R = &slot.dense[l]
        n_in, n_out = M.dense[l].n_in, M.dense[l].n_out
        R.th = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
        R.offset = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
        R.inputs = <int32 *> spikeclf_aligned_zeros(n_in * sizeof(int32))
        R.x = <double *> spikeclf_aligned_zeros(n_in * sizeof(double))
        R.where = <int32 *> spikeclf_aligned_zeros(n_in * sizeof(int32))
        if R.where != NULL:
            for j in range(n_in):
                R.where[j] = -1
        R.neurons = <int32 *> spikeclf_aligned_zeros(n_out * sizeof(int32))
        R.delta = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
        R.grad_th = <double *> spikeclf_aligned_zeros(n_out * sizeof(double))
        ok = ok and R.th != NULL and R.offset != NULL and R.inputs != NULL
        ok = ok and R.x != NULL and R.where != NULL and R.neurons != NULL
        ok = ok and R.delta != NULL
        ok = ok and R.grad_th != NULL
    for l in range(M.n_sp if ok else 0):
        Q = &slot.sp[l]
        c_out = M.sp[l].c_out
        n_kernel = M.sp[l].n_rows * c_out
        Q.th = <double *> spikeclf_aligned_zeros(c_out * sizeof(double))
        Q.offset = <double *> spikeclf_aligned_zeros(c_out * sizeof(double))
        Q.grad_w = <double *> spikeclf_aligned_zeros(max(n_kernel, 1) * sizeof(double))
        Q.grad_th = <double *> spikeclf_aligned_zeros(c_out * sizeof(double))
        Q.map_active = <uint8 *> spikeclf_aligned_zeros(c_out * sizeof(uint8))
        ok = ok and Q.th != NULL and Q.offset != NULL and Q.grad_w != NULL
        ok = ok and Q.grad_th != NULL and Q.map_active != NULL
    return ok


cdef int _check_arguments(
    dict arrays, const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, const int32[::1] target, const int64[::1] order,
    Settings cfg, list per_sample, const int64[::1] counters,
) except -1:
    """What the nogil loops index by, checked once."""
    cdef Py_ssize_t l, i, n_samples = indptr.shape[0] - 1
    cdef const int64[:, ::1] spatial = arrays["spatial"]
    cdef Py_ssize_t n_sp = spatial.shape[0], n_dense = len(arrays["weights"])
    sizes = arrays["sizes"]
    n_in = _check_network(
        spatial, arrays["kernels"], arrays["spatial_thresholds"],
        [arrays["spatial_tau"], arrays["spatial_t_ref"], arrays["spatial_kappa"]],
        sizes, arrays["weights"], arrays["thresholds"],
        [arrays["tau"], arrays["t_ref"], arrays["kappa"]],
    )
    if order.shape[0] and (np.min(order) < 0 or np.max(order) >= n_samples):
        raise ValueError(f"kernel input order: sample indices must be in 0..{n_samples - 1}")
    _check_events(channel, t, indptr, t_end, n_in, order)
    if n_dense < 1:
        raise ValueError("kernel input sizes: training needs a fully connected output layer")
    check_length("rho", len(arrays["rho"]), n_sp + n_dense)
    check_length("reg_lambda", len(arrays["reg_lambda"]), n_sp + n_dense)
    check_length("spatial_th_min", len(arrays["spatial_th_min"]), n_sp)
    check_length("spatial_moments", len(arrays["spatial_moments"]), 4 * n_sp if cfg.opt.adam else 0)
    check_length("th_min", len(arrays["th_min"]), n_dense)
    check_length("moments", len(arrays["moments"]), 4 * n_dense if cfg.opt.adam else 0)
    for l in range(n_sp):
        check_shape(f"spatial_th_min[{l}]", np.shape(arrays["spatial_th_min"][l]),
                    np.shape(arrays["spatial_thresholds"][l]))
        for i in range(4 if cfg.opt.adam and spatial[l, 0] == CONV else 0):
            check_shape(
                f"spatial_moments[{4 * l + i}]", np.shape(arrays["spatial_moments"][4 * l + i]),
                np.shape(arrays["kernels"][l]) if i < 2 else (spatial[l, 4],),
            )
    for l in range(n_dense):
        check_shape(f"th_min[{l}]", np.shape(arrays["th_min"][l]), (sizes[l + 1],))
        for i in range(4 if cfg.opt.adam else 0):
            check_shape(
                f"moments[{4 * l + i}]", np.shape(arrays["moments"][4 * l + i]),
                (sizes[l], sizes[l + 1]) if i < 2 else (sizes[l + 1],),
            )
    check_length("target", target.shape[0], n_samples)
    for l in range(len(per_sample)):
        check_length(f"per-sample output {l}", len(per_sample[l]), n_samples)
    check_length("counters", counters.shape[0], 2)
    if n_samples and (np.min(target) < 0 or np.max(target) >= sizes[n_dense]):
        raise ValueError(
            f"kernel input target: class indices must be in 0..{sizes[n_dense] - 1}")
    return 0


cdef void _free_all(
    Model *M, Worker *workers, Py_ssize_t n_workers, Slot *slots, Py_ssize_t n_slots,
    Py_ssize_t *exec_order, uint8 *finite_parts, double *work,
) noexcept:
    cdef Py_ssize_t l, i
    if workers != NULL:
        for i in range(n_workers):
            if workers[i].scratch != NULL:
                for l in range(M.n_sp):
                    free(workers[i].scratch[l].err)
                    free(workers[i].scratch[l].delta)
                    free(workers[i].scratch[l].pos_mark)
                    free(workers[i].scratch[l].pos_list)
                free(workers[i].scratch)
            _free_net(workers[i].net)
            if workers[i].replicas != NULL:
                for l in range(M.n_dense):
                    if workers[i].replicas[l].owned:
                        free(workers[i].replicas[l].w)
                        free(workers[i].replicas[l].m_w)
                        free(workers[i].replicas[l].v_w)
                free(workers[i].replicas)
            free(workers[i].counts)
            free(workers[i].error)
            free(workers[i].delta)
            free(workers[i].below)
            free(workers[i].outputs)
            free(workers[i].row_grad)
            free(workers[i].column_mark)
            free(workers[i].columns)
        free(workers)
    if slots != NULL:
        for i in range(n_slots):
            for l in range(M.n_dense if slots[i].dense != NULL else 0):
                free(slots[i].dense[l].th)
                free(slots[i].dense[l].offset)
                free(slots[i].dense[l].inputs)
                free(slots[i].dense[l].x)
                free(slots[i].dense[l].where)
                free(slots[i].dense[l].neurons)
                free(slots[i].dense[l].delta)
                free(slots[i].dense[l].grad_th)
            for l in range(M.n_sp if slots[i].sp != NULL else 0):
                free(slots[i].sp[l].th)
                free(slots[i].sp[l].offset)
                free(slots[i].sp[l].grad_w)
                free(slots[i].sp[l].grad_th)
                free(slots[i].sp[l].map_active)
            free(slots[i].dense)
            free(slots[i].sp)
        free(slots)
    if M.dense != NULL:
        for l in range(M.n_dense):
            free(M.dense[l].offset)
            free(M.dense[l].rows)
            free(M.dense[l].row_mark)
            free(M.dense[l].grad_th)
            free(M.dense[l].pending_th)
        free(M.dense)
    if M.sp != NULL:
        for l in range(M.n_sp):
            free(M.sp[l].lift_combined)
            free(M.sp[l].lift_stepped)
    free(M.sp)
    free(M.all_out)
    free(exec_order)
    free(finite_parts)
    free(work)
