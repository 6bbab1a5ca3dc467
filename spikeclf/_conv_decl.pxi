# Declarations of spikeclf._conv (real = double: inference and training) and
# spikeclf._conv32 (real = float: inference), from one file. The including .pxd
# cimports `real` and the fully connected kernel of its type (spikeclf._lif or
# spikeclf._lif32), whose Layer makes the dense tail of a Net. `real` is the
# type of membrane potentials, weights and thresholds; times and the Eq. 4
# activities (training only) are double in both.


# Kinds of spatial layer: the first column of the ``spatial`` table.
cdef enum:
    CONV = 0
    POOL = 1


cdef struct Spatial:
    int kind                 # CONV or POOL
    Py_ssize_t c_in, h_in, w_in, c_out, h_out, w_out, k
    Py_ssize_t n_pos         # h_out * w_out positions
    Py_ssize_t n_in, n_out   # c_in * h_in * w_in inputs, c_out * n_pos neurons
    real *w                  # conv: (c_in, k, k, c_out); pool: (c_out,), the weight
                             # of every input of a channel's neurons
    real *unit_w             # pool: (c_out,) ones, w when the caller gave none
    real *th                 # (c_out,) thresholds, one per feature map
                             # (written only in training)
    real *neg_th             # (c_out,) -th, the lower bound
    real *zeros              # (c_out,) zeros: the offsets outside training
    bint uniform_th          # conv at inference: one threshold for every map, so
                             # the loops read th[0] alone (spikeclf._lif's Layer)
    double tau, t_ref, kappa
    double activity_tau      # time constant of the training activities of Eq. 4
    # threshold regularization, in training only (rho 0: none)
    double rho               # a spike raises its map's threshold by rho C_out,
                             # and lowers every map's by rho
    real *offset             # (c_out,) added to a map's weights while its
                             # threshold sits at its lower bound; zeros otherwise
    const real *th_min       # (c_out,) lower bounds of the thresholds
    # state of the sample being simulated
    real *v                  # conv: v[pos * c_out + o]; pool: by flat index
    double *t_out            # same layout: last output spike or inhibition
    double *t_last           # conv: (n_pos,) last update of a position's neurons;
                             # pool: (n_out,) each neuron's own
    double *pos_t_out        # conv: (n_pos,) latest t_out at a position
    uint8 *fired             # conv: (n_out,) flags for the current event
    int32 *spiked            # conv: (k * k * c_out,) flat indices, in firing order
    Py_ssize_t *touched      # conv: (k * k,) positions the current event covers
    Py_ssize_t *best         # conv: (k * k,) best unfired o at threshold there, or -1
    real *best_ratio         # conv: (k * k,) its V / V_th
    int64 synops, inhibitions
    # training only (NULL at inference): lazily decayed activities of Eq. 4,
    # inputs by flat index (c, y, x) and neurons by flat index o * n_pos + pos
    double *x                # (n_in,) input activity at x_t
    double *x_t              # (n_in,) its time; -inf while the input is silent
    double *a                # (n_out,) output activity at a_t
    double *a_t              # (n_out,)
    int32 *active_in         # (n_in,) inputs that received a spike, in order
    int32 *active_out        # (n_out,) neurons that fired, in order
    Py_ssize_t n_active_in, n_active_out


cdef struct Net:
    Spatial *sp              # (n_sp,) convolution and pooling layers
    Py_ssize_t n_sp
    Layer *dense             # (n_dense,) the fully connected tail, or NULL
    Py_ssize_t n_dense
    Recorder rec             # output spikes of the last layer


cdef Net *_make_net(
    Py_ssize_t n_sp, const int64[:, ::1] spatial, real **sp_w,
    real **sp_th, const double[::1] sp_tau, const double[::1] sp_t_ref,
    const double[::1] sp_kappa, Py_ssize_t n_dense, const int64[::1] sizes,
    const real **weights, real **thresholds, const double[::1] tau,
    const double[::1] t_ref, const double[::1] kappa, bint train,
) noexcept nogil
cdef void _free_net(Net *net) noexcept nogil
cdef void _reset_net(Net *net) noexcept nogil
cdef void _input_event(Net *net, Py_ssize_t k, double t) noexcept nogil
cdef Py_ssize_t _check_network(
    const int64[:, ::1] spatial, list sp_weights, list sp_thresholds, list sp_per_layer,
    const int64[::1] sizes, list weights, list thresholds, list per_layer,
) except -1
cdef int _check_events(
    const int32[::1] channel, const double[::1] t, const int64[::1] indptr,
    const double[::1] t_end, Py_ssize_t n_in, const int64[::1] samples=*,
) except -1
