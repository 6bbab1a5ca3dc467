"""Declarations of the training kernel shared with the convolutional one."""

from libc.math cimport sqrt

from ._lif cimport Layer, int32, int64


cdef struct Optimizer:
    bint adam
    double lr_w, lr_th, beta1, beta2, eps
    double correction1, correction2   # 1 - beta^step, Adam's bias corrections


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


cdef Optimizer _optimizer(
    bint adam, double lr_w, double lr_th, double beta1, double beta2, double eps,
) noexcept nogil
cdef int _tail_backward(
    Layer *layers, Py_ssize_t n_layers, const int32 *all_out, double sigma,
    double **m_ptr, Optimizer *opt, int64 *counters, double *error, double *delta,
    double *below, bint error_to_input,
) noexcept nogil
cdef void _activities_at(Layer *L, double t_end) noexcept nogil
cdef double _output_error(
    const int64 *counts, Py_ssize_t n, int32 target, bint cross_entropy, double *error,
) noexcept nogil
cdef void _deltas(
    const Layer *L, const int32 *active, Py_ssize_t n_active, double sigma,
    const double *error, double *delta,
) noexcept nogil
cdef void _error_below(
    const Layer *L, const int32 *active, Py_ssize_t n_active, const double *delta,
    double *error,
) noexcept nogil
cdef bint _update(
    Layer *L, const int32 *active, Py_ssize_t n_active, const double *delta,
    double sigma, double *m_w, double *v_w, double *m_th, double *v_th,
    const Optimizer *opt,
) noexcept nogil
cdef void _regularize_all(
    Layer *layers, Py_ssize_t n_layers, const double[::1] reg_lambda, double beta,
    double lr, int64 n_samples, double *work,
) noexcept nogil
cdef bint _finite(const Layer *L) noexcept nogil
cdef int32 _argmax(const int64 *counts, Py_ssize_t n) noexcept nogil
