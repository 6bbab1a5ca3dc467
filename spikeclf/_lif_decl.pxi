# Declarations of spikeclf._lif (real = double) and spikeclf._lif32 (real =
# float): the state of a layer and the event loop. The including .pxd defines
# `real`, the type of membrane potentials, weights and thresholds; times and
# the Eq. 4 activities (training only) are double in both.

from libc.math cimport INFINITY, exp

cimport numpy as cnp

ctypedef cnp.int64_t int64
ctypedef cnp.int32_t int32
ctypedef cnp.uint8_t uint8


cdef struct Layer:
    Py_ssize_t n_in, n_out
    const real *w            # (n_in, n_out): row k feeds every neuron from input k
    real *th                 # (n_out,) thresholds (written only in training)
    real *neg_th             # (n_out,) -th: the lower bound, kept to spare a negation
    double tau, t_ref, kappa
    double *decay            # (DECAY_TABLE,) exp(-k / tau) for k = 0, 1, ... us
    bint reset_to_zero       # V <- 0 on a spike (NIR's LIF) instead of V <- V - V_th
    bint uniform_th          # one threshold for every neuron, and it never changes
                             # (inference): the loops read th[0] alone
    # state of the sample being simulated
    real *v                  # (n_out,) membrane potentials at t_last
    double *t_out            # (n_out,) last output spike or inhibition
    double t_last            # time of the layer's last update
    double last_t_out        # latest t_out of any neuron: refractory check in O(1)
    Py_ssize_t pending       # WTA winner whose inhibition is not applied yet, or -1
    int32 *spiked            # (n_out,) neurons fired by the current event, in order
    uint8 *fired             # (n_out,) flags for the current event
    int64 synops, inhibitions
    # training only (NULL at inference): lazily decayed activities of Eq. 4
    double activity_tau      # their time constant: tau (the paper's) unless set
    double *x                # (n_in,) input activity at x_t
    double *x_t              # (n_in,) its time; -inf while the input is silent
    double *a                # (n_out,) output activity at a_t
    double *a_t              # (n_out,)
    int32 *active_in         # (n_in,) inputs that received a spike, in order
    int32 *active_out        # (n_out,) neurons that fired, in order
    Py_ssize_t n_active_in, n_active_out
    # threshold regularization, in training only
    bint training            # per-neuron t_out, no deferred inhibition, offsets
    real *offset             # (n_out,) added to every weight of a neuron whose
                             # threshold sits at its lower bound (paper 2.3.2)
    real *own_offset         # the zeros offset points to outside training
    const real *th_min       # (n_out,) lower bound of the thresholds
    double rho               # threshold change per spike and neuron (0: none)


# Whole microseconds between events below which the decay factor is looked up
# rather than computed: 8 KiB a layer, which covers 99 % of the gaps between
# the events of a 5,000 events/s input.
cdef enum:
    DECAY_TABLE = 1024


cdef struct Recorder:
    int64 *counts            # (n_out of the last layer,)
    double *spike_t          # (capacity,) output spike times
    int32 *spike_i           # (capacity,) output spike neurons
    Py_ssize_t n_spikes, capacity


cdef Layer *_make_layers(
    Py_ssize_t n_layers, const int64[::1] sizes, const real **weights,
    real **thresholds, const double[::1] tau, const double[::1] t_ref,
    const double[::1] kappa, bint train,
) noexcept nogil
cdef void _free_layers(Layer *layers, Py_ssize_t n_layers) noexcept nogil
cdef void _reset(Layer *layers, Py_ssize_t n_layers) noexcept nogil
cdef void _deliver(
    Layer *layers, Py_ssize_t n_layers, Py_ssize_t l, Py_ssize_t k, double t,
    Recorder *rec,
) noexcept nogil
cdef void _settle(Layer *L) noexcept nogil
cdef void _find_uniform_thresholds(Layer *layers, Py_ssize_t n_layers) noexcept nogil
cdef double _decayed(double value, double when, double t, double tau) noexcept nogil


cdef int check_inputs(
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, const int64[::1] sizes, list weights, list thresholds,
    list per_layer, const int64[::1] samples=*,
) except -1
cdef int check_length(str name, Py_ssize_t length, Py_ssize_t expected) except -1
cdef int check_shape(str name, tuple shape, tuple expected) except -1


cdef inline void _accumulate(double *value, double *when, double t, double tau) noexcept nogil:
    """Add one spike at t to a low-pass filtered activity kept lazily (Eq. 4)."""
    if when[0] == -INFINITY:
        value[0] = 1.0
    else:
        value[0] = value[0] * exp((when[0] - t) / tau) + 1.0
    when[0] = t


# Output spikes one input event may cause, at most, as the spike record of a
# stream plans for them: the product of the fan-outs, capped (an event beyond
# it sets StreamBase.overflowed, and the record is then incomplete).
cdef enum:
    MAX_SPIKES_PER_EVENT = 65536


# Streaming and early decisions (spikeclf.streaming): one network's state kept
# between calls. The subclasses (DenseStream here, _conv.ConvStream) say how an
# input event enters their network and how its output layer is read; the loops
# over events, the record of output spikes and the margin rule are here.
cdef class StreamBase:
    cdef Recorder *rec             # the recorder the network's event loop writes
    cdef Recorder own_rec          # DenseStream's (ConvStream's is its Net's)
    cdef int64 *tally              # (n_out,) output spike counts, spike by spike
    cdef Py_ssize_t n_in, n_out, n_layers
    cdef Py_ssize_t per_event      # output spikes one input event may cause (capped)
    cdef double t_now              # time of the last event pushed, 0 before any
    cdef int64 n_pushed            # events pushed since the last reset
    cdef bint overflowed           # an event caused more than per_event spikes
    cdef object keep               # the arrays the layers point into

    cdef int _start(self, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t n_layers,
                    Py_ssize_t per_event) except -1
    cdef int _reserve(self) noexcept nogil
    cdef void _restart(self) noexcept nogil
    cdef void _event(self, Py_ssize_t k, double t) noexcept nogil
    cdef void _restart_network(self) noexcept nogil
    cdef void _read(self, double *v, double stop) noexcept nogil
    cdef void _operations(self, int64 *synops, int64 *inhibitions) noexcept nogil


cdef Py_ssize_t _replay_margins(
    const int32 *spike_i, Py_ssize_t n_spikes, int64 *tally, Py_ssize_t n_out,
    const int64 *margins, Py_ssize_t n_margins, Py_ssize_t n_decided,
    int64 *counts_at,
) noexcept nogil
