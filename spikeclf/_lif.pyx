"""Event-driven simulation of fully connected LIF / winner-take-all layers.

Compiled kernel of :mod:`spikeclf.simulator`. One input event on channel k at
time t of a layer (Eq. 1-3 of Lee, Delbruck and Pfeiffer 2016, SPEC section 1):
leak of the whole layer by one factor, V += w[k] * w_dyn, lower bound -V_th,
then the neurons at threshold fire in order of decreasing V / V_th with
subtractive reset and, in a WTA layer, inhibition of all others by kappa * V_th
that also makes them refractory. Output spikes are delivered at once, depth
first, to the next layer. Times are in microseconds.

The Python entry points check their arrays once (:func:`check_inputs`: shapes,
indptr, channel range), so the nogil loops run without bounds checks; the
values themselves (times sorted, finite parameters) are the caller's to
validate (spikeclf.events.check_events and the estimators do).
"""

include "_lif_body.pxi"


cdef extern from "_lif_simd.h" nogil:
    void spikeclf_accumulate_rows_f64(
        double *acc, const double *w, const int32 *rows, Py_ssize_t n_rows, Py_ssize_t n)
    void spikeclf_accumulate_rows_f32(
        float *acc, const float *w, const int32 *rows, Py_ssize_t n_rows, Py_ssize_t n)


def accumulate_rows(w, const int32[::1] rows, acc):
    """acc += w[rows[0]] + w[rows[1]] + ...: the event loop's inner operation alone.

    Benchmarks use it as the roofline of the simulator: adding weight rows,
    gathered in event order, into one accumulator (float64 or float32; the
    caller checks that rows index w).
    """
    cdef double[:, ::1] w64
    cdef double[::1] acc64
    cdef float[:, ::1] w32
    cdef float[::1] acc32
    if w.dtype == np.float32:
        w32, acc32 = w, acc
        with nogil:
            spikeclf_accumulate_rows_f32(&acc32[0], &w32[0, 0], &rows[0], rows.shape[0], w32.shape[1])
    else:
        w64, acc64 = w, acc
        with nogil:
            spikeclf_accumulate_rows_f64(&acc64[0], &w64[0, 0], &rows[0], rows.shape[0], w64.shape[1])
