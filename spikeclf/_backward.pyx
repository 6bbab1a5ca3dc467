"""Spike-based backpropagation: one training epoch, sample after sample.

Compiled kernel of :mod:`spikeclf._mlp`. For each sample (batch size 1): the
event-driven forward pass of spikeclf._lif in training mode (activities of
Eq. 4, threshold regularization), then the backward pass through the transfer
function of Eq. 6 with the winner-take-all correction, the error normalization
of Eq. 12 and the updates of Eq. 13 on active synapses and neurons only, by SGD
or Adam (lazy: the moments of the touched entries only). Exponential weight
regularization (Eq. 14/15) is decoupled from the optimizer and applied to
every hidden neuron every `reg_every` samples, with the step of that many
samples, so that one sample costs O(active synapses), not O(all weights).
See ../shared/SPEC.md section 3 for the derivation and its sign conventions.
"""

from libc.math cimport exp, isfinite, log, sqrt
from libc.stdlib cimport calloc, free

cimport numpy as cnp

import numpy as np

from ._lif cimport (
    Layer, Recorder, _decayed, _deliver, _free_layers, _make_layers, _reset, _settle,
    check_inputs, check_length, check_shape, int32, int64,
)

cnp.import_array()


cdef void _activities_at(Layer *L, double t_end) noexcept nogil:
    """Replace the lazily kept activities of the active entries by their value at t_end."""
    cdef Py_ssize_t j, k
    for j in range(L.n_active_in):
        k = L.active_in[j]
        L.x[k] = _decayed(L.x[k], L.x_t[k], t_end, L.activity_tau)
    for j in range(L.n_active_out):
        k = L.active_out[j]
        L.a[k] = _decayed(L.a[k], L.a_t[k], t_end, L.activity_tau)


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


cdef void _deltas(
    const Layer *L, const int32 *active, Py_ssize_t n_active, double sigma,
    const double *error, double *delta,
) noexcept nogil:
    """delta = (g / g_bar) A^-1 error over the active neurons (SPEC section 3).

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
    before this sample's update (offsets included).
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


cdef bint _update(
    Layer *L, const int32 *active, Py_ssize_t n_active, const double *delta,
    double sigma, double *m_w, double *v_w, double *m_th, double *v_th,
    const Optimizer *opt,
) noexcept nogil:
    """Eq. 13 on the active synapses of the active neurons, and their thresholds.

    Returns whether every updated parameter is finite (False: training diverged).
    """
    cdef Py_ssize_t j, s, i, k
    cdef double n_in = L.n_in, n_out = L.n_out, m = L.n_active_in
    cdef double scale_w = sqrt(n_out / m), scale_th = sqrt(n_out / (m * n_in))
    cdef double a_total = 0.0, a_hat, grad, xk
    cdef double *w = <double *> L.w
    cdef Py_ssize_t p
    cdef bint finite = True
    for j in range(L.n_active_in):
        k = L.active_in[j]
        xk = L.x[k]
        for s in range(n_active):
            i = active[s]
            p = k * L.n_out + i
            grad = scale_w * delta[s] * xk
            _step(&w[p], &m_w[p] if opt.adam else NULL, &v_w[p] if opt.adam else NULL,
                  grad, opt.lr_w, opt)
            finite = finite and isfinite(w[p])
    for s in range(n_active):
        a_total += L.a[active[s]]
    for s in range(n_active):
        i = active[s]
        # a_hat = gamma a_i - sigma kappa sum_{j != i} a_j, gamma = 1; gradient
        # descent raises the threshold along delta a_hat (SPEC: the printed sign
        # of Eq. 13 is wrong).
        a_hat = L.a[i] - sigma * L.kappa * (a_total - L.a[i])
        grad = -scale_th * delta[s] * a_hat
        _step(&L.th[i], &m_th[i] if opt.adam else NULL, &v_th[i] if opt.adam else NULL,
              grad, opt.lr_th, opt)
        if L.th[i] < L.th_min[i]:
            L.offset[i] += L.th_min[i] - L.th[i]
            L.th[i] = L.th_min[i]
        L.neg_th[i] = -L.th[i]
        finite = finite and isfinite(L.th[i]) and isfinite(L.offset[i])
    return finite


cdef Optimizer _optimizer(
    bint adam, double lr_w, double lr_th, double beta1, double beta2, double eps,
) noexcept nogil:
    cdef Optimizer opt
    opt.adam = adam
    opt.lr_w = lr_w
    opt.lr_th = lr_th
    opt.beta1 = beta1
    opt.beta2 = beta2
    opt.eps = eps
    opt.correction1 = 1.0
    opt.correction2 = 1.0
    return opt


cdef int _tail_backward(
    Layer *layers, Py_ssize_t n_layers, const int32 *all_out, double sigma,
    double **m_ptr, Optimizer *opt, int64 *counters, double *error, double *delta,
    double *below, bint error_to_input,
) noexcept nogil:
    """Backward pass and updates of fully connected layers, from the output down.

    ``error`` holds the output error; every output neuron counts as active (a
    silent target must still learn). Adam's step counter advances first.
    With ``error_to_input``, the error of layer 0's active inputs is left in
    ``below`` (for the layers before it). Returns -1 when a parameter became
    non-finite, 1 when the error reached layer 0, else 0.
    """
    cdef Py_ssize_t l, i, n_active = layers[n_layers - 1].n_out
    cdef const int32 *active = all_out
    cdef Layer *L
    cdef int reached = 0
    cdef bint finite = True
    if opt.adam:
        counters[0] += 1
        opt.correction1 = 1.0 - opt.beta1 ** counters[0]
        opt.correction2 = 1.0 - opt.beta2 ** counters[0]
    for l in range(n_layers - 1, -1, -1):
        L = &layers[l]
        if n_active == 0 or L.n_active_in == 0:
            break
        _deltas(L, active, n_active, sigma, error, delta)
        if l > 0 or error_to_input:
            _error_below(L, active, n_active, delta, below)
        finite = _update(
            L, active, n_active, delta, sigma,
            m_ptr[4 * l], m_ptr[4 * l + 1], m_ptr[4 * l + 2], m_ptr[4 * l + 3], opt,
        ) and finite
        if l > 0:
            for i in range(L.n_active_in):
                error[i] = below[i]
            active = L.active_in
            n_active = L.n_active_in
        else:
            reached = 1
    return reached if finite else -1


cdef void _regularize_weights(Layer *L, double step, double beta, double *norm) noexcept nogil:
    """Fold the offsets into the weights, then exponential weight decay (Eq. 15).

    w_i <- w_i exp(-step beta exp(beta (|w_i|^2 - 1))) for every neuron i: the
    decay of Eq. 15 over the samples since the last call (step = lr lambda
    times their number), in two passes over the rows of W (contiguous).
    """
    cdef Py_ssize_t k, i, n = L.n_out
    cdef double *w = <double *> L.w
    cdef double *row
    for i in range(n):
        norm[i] = 0.0
    for k in range(L.n_in):
        row = w + k * n
        for i in range(n):
            row[i] += L.offset[i]
            norm[i] += row[i] * row[i]
    for i in range(n):
        L.offset[i] = 0.0
        norm[i] = exp(-step * beta * exp(beta * (norm[i] - 1.0))) if step > 0 else 1.0
    if step > 0:
        for k in range(L.n_in):
            row = w + k * n
            for i in range(n):
                row[i] *= norm[i]


def train_epoch(
    const int32[::1] channel,
    const double[::1] t,
    const int64[::1] indptr,
    const double[::1] t_end,
    const int32[::1] target,
    const int64[::1] order,
    const int64[::1] sizes,
    list weights,
    list thresholds,
    list offsets,
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
    """Train on the samples in ``order``, one after the other; update in place.

    Parameters
    ----------
    channel, t, indptr : packed events, t in us. t_end : (n_samples,) end of each
        presentation (us): the activities are read there.
    target : (n_samples,) class index of each sample. order : samples to visit.
    sizes : (n_layers + 1,). weights, thresholds, offsets, th_min : per layer,
        C-contiguous float64 arrays, updated in place (offsets are folded into
        the weights at the end).
    moments : for Adam, per layer [m_w, v_w, m_th, v_th] flattened in that order
        (4 arrays a layer); empty for SGD.
    tau, t_ref, kappa, rho, reg_lambda : (n_layers,) per layer; t in us.
    activity_tau : time constant (us) of the activities of Eq. 4 that the
        backward pass reads: tau for the paper's; inf for spike counts.
    cross_entropy : use the softmax cross-entropy output loss instead of the
        paper's max-normalized one.
    counters : [Adam steps so far, samples since the last weight regularization].
    loss, predicted, out_spikes, synops : (n_samples,) written for visited samples;
        predicted is -1 when no output neuron fired.

    Returns
    -------
    status : int
        0; -1 when memory ran out; -2 when a threshold or weight became NaN or
        infinite (training diverged; the parameters are then not to be trusted).
    """
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1
    cdef Py_ssize_t l, s, e, sample, i, widest = 0
    cdef Py_ssize_t n_out
    cdef int status = 0
    cdef Optimizer opt
    cdef Recorder rec
    cdef Layer *layers = NULL
    cdef double stop
    cdef const double **w_ptr = NULL
    cdef double **th_ptr = NULL
    cdef double **m_ptr = NULL
    cdef int64 *counts = NULL
    cdef int32 *all_out = NULL
    cdef double *error = NULL
    cdef double *delta = NULL
    cdef double *below = NULL
    cdef double[:, ::1] w_view
    cdef double[::1] view

    _check_training_inputs(
        channel, t, indptr, t_end, target, order, sizes, weights, thresholds, offsets,
        th_min, moments, adam, [tau, t_ref, kappa, rho, reg_lambda],
        [loss, predicted, out_spikes, synops], counters,
    )
    n_out = sizes[n_layers]
    w_ptr = <const double **> calloc(n_layers, sizeof(double *))
    th_ptr = <double **> calloc(n_layers, sizeof(double *))
    m_ptr = <double **> calloc(4 * n_layers, sizeof(double *))
    counts = <int64 *> calloc(n_out, sizeof(int64))
    all_out = <int32 *> calloc(n_out, sizeof(int32))
    for l in range(n_layers + 1):
        widest = max(widest, sizes[l])
    error = <double *> calloc(widest, sizeof(double))
    delta = <double *> calloc(widest, sizeof(double))
    below = <double *> calloc(widest, sizeof(double))
    if (w_ptr == NULL or th_ptr == NULL or m_ptr == NULL or counts == NULL
            or all_out == NULL or error == NULL or delta == NULL or below == NULL):
        status = -1
    else:
        for l in range(n_layers):
            w_view = weights[l]
            w_ptr[l] = &w_view[0, 0]
            view = thresholds[l]
            th_ptr[l] = &view[0]
            if adam:
                for i in range(4):
                    view = moments[4 * l + i].reshape(-1)
                    m_ptr[4 * l + i] = &view[0]
        layers = _make_layers(n_layers, sizes, w_ptr, th_ptr, tau, t_ref, kappa, True)
        if layers == NULL:
            status = -1
        else:
            for l in range(n_layers):
                view = offsets[l]
                layers[l].offset = &view[0]
                layers[l].training = True
                layers[l].activity_tau = activity_tau
                view = th_min[l]
                layers[l].th_min = &view[0]
                layers[l].rho = rho[l]
    if status != 0:
        _free_all(layers, n_layers, w_ptr, th_ptr, m_ptr, counts, all_out, error, delta, below)
        return status

    for i in range(n_out):
        all_out[i] = <int32> i
    opt = _optimizer(adam, lr_w, lr_th, beta1, beta2, eps)
    rec.spike_t = NULL
    rec.spike_i = NULL
    rec.capacity = 0
    with nogil:
        for s in range(order.shape[0]):
            sample = order[s]
            stop = t_end[sample]
            _reset(layers, n_layers)
            for i in range(n_out):
                counts[i] = 0
            rec.counts = counts
            rec.n_spikes = 0
            for e in range(indptr[sample], indptr[sample + 1]):
                if t[e] > stop:
                    break
                _deliver(layers, n_layers, 0, channel[e], t[e], &rec)
            synops[sample] = 0
            for l in range(n_layers):
                _settle(&layers[l])
                _activities_at(&layers[l], stop)
                synops[sample] += layers[l].synops
            out_spikes[sample] = rec.n_spikes
            predicted[sample] = _argmax(counts, n_out)
            loss[sample] = _output_error(counts, n_out, target[sample], cross_entropy, error)

            if _tail_backward(layers, n_layers, all_out, sigma, m_ptr, &opt,
                              &counters[0], error, delta, below, False) < 0:
                status = -2
            for l in range(n_layers):
                if not _finite(&layers[l]):
                    status = -2
            if status != 0:
                break  # the parameters of this sample are not to be trusted

            counters[1] += 1
            if counters[1] >= reg_every:
                _regularize_all(layers, n_layers, reg_lambda, reg_beta, lr_w, counters[1], below)
                counters[1] = 0
        _regularize_all(layers, n_layers, reg_lambda, reg_beta, lr_w, 0, below)
    _free_all(layers, n_layers, w_ptr, th_ptr, m_ptr, counts, all_out, error, delta, below)
    return status


cdef int _check_training_inputs(
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, const int32[::1] target, const int64[::1] order,
    const int64[::1] sizes, list weights, list thresholds, list offsets,
    list th_min, list moments, bint adam, list per_layer, list per_sample,
    const int64[::1] counters,
) except -1:
    """What train_epoch indexes by, checked once so that its loops need not."""
    cdef Py_ssize_t l, n_samples = indptr.shape[0] - 1
    if order.shape[0] and (np.min(order) < 0 or np.max(order) >= n_samples):
        raise ValueError(f"kernel input order: sample indices must be in 0..{n_samples - 1}")
    # Only the visited samples' channels: an epoch comes in blocks of its samples.
    check_inputs(channel, t, indptr, t_end, sizes, weights, thresholds, per_layer, order)
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1
    check_length("target", target.shape[0], n_samples)
    for l in range(len(per_sample)):
        check_length(f"per-sample output {l}", len(per_sample[l]), n_samples)
    check_length("counters", counters.shape[0], 2)
    check_length("offsets", len(offsets), n_layers)
    check_length("th_min", len(th_min), n_layers)
    check_length("moments", len(moments), 4 * n_layers if adam else 0)
    for l in range(n_layers):
        check_shape(f"offsets[{l}]", np.shape(offsets[l]), (sizes[l + 1],))
        check_shape(f"th_min[{l}]", np.shape(th_min[l]), (sizes[l + 1],))
        for i in range(4 if adam else 0):
            check_shape(
                f"moments[{4 * l + i}]", np.shape(moments[4 * l + i]),
                np.shape(weights[l] if i < 2 else thresholds[l]),
            )
    if n_samples and (np.min(target) < 0 or np.max(target) >= sizes[n_layers]):
        raise ValueError(f"kernel input target: class indices must be in 0..{sizes[n_layers] - 1}")
    return 0


cdef void _regularize_all(
    Layer *layers, Py_ssize_t n_layers, const double[::1] reg_lambda, double beta,
    double lr, int64 n_samples, double *work,
) noexcept nogil:
    """Weight regularization of the hidden layers over n_samples (0: fold offsets only)."""
    cdef Py_ssize_t l
    for l in range(n_layers):
        _regularize_weights(&layers[l], lr * reg_lambda[l] * n_samples, beta, work)


cdef bint _finite(const Layer *L) noexcept nogil:
    """Whether the thresholds are finite: a diverging run shows there first."""
    cdef Py_ssize_t j
    for j in range(L.n_out):
        if not isfinite(L.th[j]):
            return False
    return True


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


cdef void _free_all(
    Layer *layers, Py_ssize_t n_layers, const double **w_ptr, double **th_ptr,
    double **m_ptr, int64 *counts, int32 *all_out, double *error, double *delta,
    double *below,
) noexcept:
    _free_layers(layers, n_layers)
    free(w_ptr)
    free(th_ptr)
    free(m_ptr)
    free(counts)
    free(all_out)
    free(error)
    free(delta)
    free(below)
