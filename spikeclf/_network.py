"""The parameters of the spiking networks and their training state.

Thin holders between the estimators and the kernels, :class:`Network` (fully
connected) and :class:`ConvNetwork` (convolution and pooling, then fully
connected): they initialize the parameters (Eq. 10), keep what training needs
between epochs (threshold lower bounds, Adam moments, step counters) and hand
the arrays to ``spikeclf._train.train_epoch`` and to the simulators
(``spikeclf.simulator.simulate``, ``spikeclf.convolution.simulate_conv``).
"""

import copy
import re
from dataclasses import dataclass, field, replace

import numpy as np

from ._conv import KINDS
from ._train import train_epoch
from .convolution import simulate_conv
from .simulator import simulate


class TrainingDiverged(ValueError, FloatingPointError):
    """Training diverged: a weight or threshold became NaN or infinite.

    A ValueError because a hyperparameter (most often the learning rate) is
    out of the range this data can take.
    """


def initial_thresholds(sizes, alpha):
    """Eq. 10: V_th = alpha sqrt(3/M) per layer, M its number of inputs."""
    return [a * np.sqrt(3.0 / m) for m, a in zip(sizes[:-1], alpha, strict=True)]


@dataclass
class EpochResult:
    """Per-sample figures of one training epoch, in the order visited."""

    loss: np.ndarray
    predicted: np.ndarray
    output_spikes: np.ndarray
    synops: np.ndarray

    @classmethod
    def empty(cls, n_samples):
        """The arrays a training kernel writes, one entry per sample."""
        n = n_samples
        return cls(
            np.zeros(n), np.zeros(n, np.int32), np.zeros(n, np.int64),
            np.zeros(n, np.int64),
        )  # fmt: skip

    def visited(self, order, status):
        """The figures of the samples in ``order``, once the kernel's status is 0."""
        if status == -2:
            raise TrainingDiverged(
                "training diverged: a weight or threshold became NaN or infinite; "
                "lower the learning rate"
            )
        if status == -1:
            raise MemoryError("not enough memory for the training state")
        idx = np.asarray(order)
        return EpochResult(
            self.loss[idx], self.predicted[idx], self.output_spikes[idx],
            self.synops[idx],
        )  # fmt: skip


def prediction_copy(network):
    """A copy of ``network`` for simulation only: without the optimizer's state."""
    return copy.deepcopy(replace(network, moments=[]))


def zero_moments(weights, thresholds):
    """Adam's first and second moments of every weight and threshold array, in
    the kernels' order (m_w, v_w, m_th, v_th per layer); None for a layer
    without weights (pooling)."""
    return [
        None if w is None else np.zeros_like(p)
        for w, th in zip(weights, thresholds, strict=True)
        for p in (w, w, th, th)
    ]


@dataclass(frozen=True)
class Solver:
    """The settings of one training pass, as ``spikeclf._train.train_epoch``
    reads them.

    ``rho``, ``reg_lambda`` and ``lr_factor`` have one value per layer (spatial
    layers first, then the fully connected ones), ``lr_factor`` multiplying the
    layer's ``lr_w`` and ``lr_th`` (None: all 1); ``adam`` is (beta1, beta2,
    eps), or None for SGD; ``activity_tau`` is in seconds (None: the membrane's
    tau; inf: spike counts). A batch of ``batch_size`` samples is simulated in
    ``n_threads`` threads and makes one optimizer step on the sum of its
    gradients; the result does not depend on ``n_threads``. ``adam_update``
    and ``output_neurons`` as the estimators' parameters of those names.
    """

    lr_w: float
    lr_th: float
    rho: tuple
    reg_lambda: tuple
    reg_beta: float
    reg_every: int
    sigma: float
    adam: tuple = None
    output_loss: str = "max_normalized"
    activity_tau: float = None
    batch_size: int = 1
    n_threads: int = 1
    adam_update: str = "lazy"
    output_neurons: str = "all"
    lr_factor: tuple = None


def run_training(network, packed, t_end_us, targets, order, solver):
    """One pass of ``network`` over ``order`` with ``solver``; parameters change
    in place. Returns the :class:`EpochResult` of the visited samples."""
    result = EpochResult.empty(packed.n_samples)
    status = train_epoch(
        packed,
        t_end_us,
        np.ascontiguousarray(targets, dtype=np.int32),
        np.ascontiguousarray(order, dtype=np.int64),
        network,
        solver,
        result,
    )
    return result.visited(order, status)


def layer_constants(n_layers, tau, refractory, kappa):
    """tau and T_ref in microseconds and kappa, one value per layer, for the kernels."""
    return {
        "tau": np.full(n_layers, tau * 1e6),
        "t_ref": np.full(n_layers, refractory * 1e6),
        "kappa": np.ascontiguousarray(kappa, float),
    }


def training_constants(network, solver):
    """The per-layer settings of a pass as the training kernel reads them."""
    activity_tau = network.tau if solver.activity_tau is None else solver.activity_tau
    n_layers = len(solver.rho)
    lr_factor = np.ones(n_layers) if solver.lr_factor is None else solver.lr_factor
    if len(lr_factor) != n_layers:
        raise ValueError(
            f"lr_factor needs one value per layer ({n_layers}), got {len(lr_factor)}"
        )
    return {
        "rho": np.ascontiguousarray(solver.rho, float),
        "reg_lambda": np.ascontiguousarray(solver.reg_lambda, float),
        "lr_factor": np.ascontiguousarray(lr_factor, float),
        "activity_tau": activity_tau * 1e6,
    }


NO_SPATIAL_LAYERS = {
    "spatial": np.zeros((0, 6), dtype=np.int64),
    "spatial_kind": [],
    "spatial_c_out": [],
    "kernels": [],
    "spatial_thresholds": [],
    "spatial_th_min": [],
    "spatial_moments": [],
    "spatial_tau": np.zeros(0),
    "spatial_t_ref": np.zeros(0),
    "spatial_kappa": np.zeros(0),
}


@dataclass
class Network:
    """Weights, thresholds and training state of a fully connected spiking network.

    ``weights[l]`` has shape (n_in, n_out); ``kappa`` is the lateral inhibition
    per layer; ``tau`` and ``refractory`` are in seconds. ``reset`` and
    ``lower_bound`` are the paper's neuron ("subtract", True) unless the network
    came from a NIR graph of plain LIF neurons ("zero", False), which only
    simulates: training needs the paper's neuron.
    """

    weights: list
    thresholds: list
    th_min: list
    kappa: np.ndarray
    tau: float
    refractory: float
    moments: list = field(default_factory=list)
    counters: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.int64))
    reset: str = "subtract"
    lower_bound: bool = True

    @classmethod
    def initialize(cls, sizes, alpha, kappa, tau, refractory, threshold_min, rng):
        """Eq. 10: w ~ U[-sqrt(3/M), sqrt(3/M)], V_th = alpha sqrt(3/M)."""
        weights, thresholds = [], []
        for (m, n), th in zip(
            zip(sizes[:-1], sizes[1:], strict=False),
            initial_thresholds(sizes, alpha),
            strict=True,
        ):
            bound = np.sqrt(3.0 / m)
            weights.append(rng.uniform(-bound, bound, size=(m, n)))
            thresholds.append(np.full(n, th))
        th_min = [threshold_min * th for th in thresholds]
        return cls(
            weights, thresholds, th_min, np.asarray(kappa, float), tau, refractory
        )

    @property
    def sizes(self):
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    def parameters(self):
        """The trained arrays, weights then thresholds."""
        return [*self.weights, *self.thresholds]

    def train_epoch(self, packed, t_end_us, targets, order, **settings):
        """One pass over ``order``; parameters change in place.

        ``settings`` are the fields of :class:`Solver` (batch size 1 and one
        thread unless given).
        """
        if self.reset != "subtract" or not self.lower_bound:
            raise ValueError(
                "this network has NIR's LIF neurons (reset to 0, no lower bound), "
                "which spikeclf simulates but cannot train; training needs the "
                "paper's neuron"
            )
        solver = Solver(**settings)
        if solver.adam is not None and not self.moments:
            self.moments = zero_moments(self.weights, self.thresholds)
        return run_training(self, packed, t_end_us, targets, order, solver)

    def kernel_layers(self, solver):
        """The arrays and constants of every layer as the training kernel reads
        them: no spatial layer, then the fully connected ones."""
        return {
            **NO_SPATIAL_LAYERS,
            "sizes": np.array(self.sizes, dtype=np.int64),
            "weights": self.weights,
            "thresholds": self.thresholds,
            "th_min": self.th_min,
            "moments": self.moments if solver.adam is not None else [],
            **layer_constants(len(self.weights), self.tau, self.refractory, self.kappa),
            **training_constants(self, solver),
        }

    def simulate(
        self,
        packed,
        *,
        t_end=None,
        n_jobs=None,
        record_spikes=False,
        dtype=np.float64,
        threshold_units=False,
    ):
        """Inference: output counts and potentials of every sample, simulated in
        ``dtype`` (see :func:`spikeclf.simulator.simulate`)."""
        return simulate(
            packed,
            self.weights,
            self.thresholds,
            tau=self.tau,
            refractory=self.refractory,
            lateral_inhibition=self.kappa,
            reset=self.reset,
            lower_bound=self.lower_bound,
            t_end=t_end,
            n_jobs=n_jobs,
            record_spikes=record_spikes,
            dtype=dtype,
            threshold_units=threshold_units,
        )


_LAYER = re.compile(r"^(?:(\d+)c(\d+)|p2|(\d+))$")


def parse_layers(spec):
    """``"20c5-p2-50c5-p2-200"`` -> [("conv", 20, 5), ("pool",), ..., ("dense", 200)].

    Raises ValueError naming the part it cannot read.
    """
    layers = []
    for part in str(spec).split("-"):
        match = _LAYER.match(part.strip())
        if match is None:
            raise ValueError(
                f"layers: cannot read {part!r} in {spec!r}; use NcK (N feature maps "
                "of KxK), p2 (2x2 pooling) or N (fully connected), joined by '-'"
            )
        maps, size, units = match.groups()
        if maps is not None:
            layers.append(("conv", int(maps), int(size)))
        elif units is not None:
            layers.append(("dense", int(units)))
        else:
            layers.append(("pool",))
        if layers[-1][0] != "dense" and any(ly[0] == "dense" for ly in layers[:-1]):
            raise ValueError(f"layers: {part!r} comes after a fully connected layer")
        if any(n < 1 for n in layers[-1][1:]):
            raise ValueError(f"layers: sizes must be positive, got {part!r}")
    return layers


@dataclass
class ConvNetwork:
    """Parameters and training state of a spiking CNN, in the kernels' layout.

    ``spatial`` is the kernel's (n_spatial, 6) table (kind, C_in, H_in, W_in,
    C_out, K); ``kernels[l]`` the convolution weights as (C_in, K, K, C_out)
    (None for pooling); the fully connected tail as in spikeclf._network.Network.
    """

    input_shape: tuple
    spatial: np.ndarray
    kernels: list
    spatial_thresholds: list
    spatial_th_min: list
    spatial_kappa: np.ndarray
    weights: list
    thresholds: list
    th_min: list
    kappa: np.ndarray
    tau: float
    refractory: float
    moments: list = field(default_factory=list)
    counters: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.int64))

    @classmethod
    def initialize(
        cls,
        input_shape,
        layers,
        n_out,
        alpha,
        kappa,
        tau,
        refractory,
        threshold_min,
        pool_threshold,
        rng,
    ):
        """Eq. 10 per layer, M the synapses of a neuron (C_in K K in a convolution)."""
        shape, spatial, kernels, sp_th, dense_sizes = input_shape, [], [], [], []
        trained = iter(alpha)
        for layer in layers:
            if layer[0] == "conv":
                _, c_out, size = layer
                if size > min(shape[1:]):
                    raise ValueError(
                        f"layers: a {size}x{size} kernel does not fit its "
                        f"{shape[1]}x{shape[2]} input"
                    )
                m = shape[0] * size * size
                bound = np.sqrt(3.0 / m)
                kernels.append(
                    rng.uniform(-bound, bound, (shape[0], size, size, c_out))
                )
                sp_th.append(np.full(c_out, next(trained) * bound))
                spatial.append([KINDS["conv"], *shape, c_out, size])
                shape = (c_out, shape[1] - size + 1, shape[2] - size + 1)
            elif layer[0] == "pool":
                if min(shape[1:]) < 2:
                    raise ValueError(f"layers: a 2x2 pooling on a {shape[1:]} input")
                kernels.append(None)
                sp_th.append(np.full(shape[0], float(pool_threshold)))
                spatial.append([KINDS["pool"], *shape, shape[0], 2])
                shape = (shape[0], shape[1] // 2, shape[2] // 2)
            else:
                dense_sizes.append(layer[1])
        sizes = [int(np.prod(shape)), *dense_sizes, n_out]
        weights, thresholds = [], []
        for (m, n), th in zip(
            zip(sizes[:-1], sizes[1:], strict=False),
            initial_thresholds(sizes, list(trained)),
            strict=True,
        ):
            bound = np.sqrt(3.0 / m)
            weights.append(rng.uniform(-bound, bound, size=(m, n)))
            thresholds.append(np.full(n, th))
        is_conv = [row[0] == KINDS["conv"] for row in spatial]
        kappa = list(kappa)
        return cls(
            input_shape=tuple(input_shape),
            spatial=np.array(spatial, dtype=np.int64).reshape(-1, 6),
            kernels=kernels,
            spatial_thresholds=sp_th,
            spatial_th_min=[threshold_min * th for th in sp_th],
            spatial_kappa=np.array([kappa.pop(0) if c else 0.0 for c in is_conv]),
            weights=weights,
            thresholds=thresholds,
            th_min=[threshold_min * th for th in thresholds],
            kappa=np.array(kappa, dtype=float),
            tau=tau,
            refractory=refractory,
        )

    @property
    def sizes(self):
        """Neurons of the fully connected layers, after the inputs of the first."""
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    def parameters(self):
        """The trained arrays: kernels, their thresholds, then the dense layers'."""
        trained = [k is not None for k in self.kernels]
        return [
            *(k for k in self.kernels if k is not None),
            *(th for th, t in zip(self.spatial_thresholds, trained, strict=True) if t),
            *self.weights,
            *self.thresholds,
        ]

    def layer_dicts(self):
        """The layers as :func:`spikeclf.convolution.simulate_conv` takes them."""
        common = {"tau": self.tau, "refractory": self.refractory}
        layers = []
        for row, kernel, th, kappa in zip(
            self.spatial,
            self.kernels,
            self.spatial_thresholds,
            self.spatial_kappa,
            strict=True,
        ):
            if row[0] == KINDS["conv"]:
                layers.append(
                    {
                        "type": "conv",
                        "weights": kernel.transpose(3, 0, 1, 2),
                        "thresholds": th,
                        "kappa": float(kappa),
                        **common,
                    }
                )
            else:
                layers.append({"type": "pool", "threshold": float(th[0]), **common})
        for w, th, kappa in zip(self.weights, self.thresholds, self.kappa, strict=True):
            layers.append(
                {
                    "type": "dense",
                    "weights": w,
                    "thresholds": th,
                    "kappa": float(kappa),
                    **common,
                }
            )
        return layers

    def simulate(
        self,
        packed,
        *,
        t_end=None,
        n_jobs=None,
        record_spikes=False,
        dtype=np.float64,
        threshold_units=False,
    ):
        """Inference: output counts and potentials of every sample, in
        ``dtype`` (see :func:`spikeclf.convolution.simulate_conv`)."""
        return simulate_conv(
            packed,
            self.input_shape,
            self.layer_dicts(),
            t_end=t_end,
            record_spikes=record_spikes,
            n_jobs=n_jobs,
            dtype=dtype,
            threshold_units=threshold_units,
        )

    def train_epoch(self, packed, t_end_us, targets, order, **settings):
        """One pass over ``order``; parameters change in place.

        ``settings`` are the fields of :class:`spikeclf._network.Solver`;
        ``rho`` and ``reg_lambda`` have one value per layer, spatial then dense.
        """
        solver = Solver(**settings)
        if solver.adam is not None and not self.moments:
            self.moments = [
                zero_moments(self.kernels, self.spatial_thresholds),
                zero_moments(self.weights, self.thresholds),
            ]
        return run_training(self, packed, t_end_us, targets, order, solver)

    def kernel_layers(self, solver):
        """The arrays and constants of every layer as the training kernel reads them."""
        adam = solver.adam is not None
        spatial = layer_constants(
            len(self.kernels), self.tau, self.refractory, self.spatial_kappa
        )
        return {
            "spatial": self.spatial,
            "spatial_kind": [int(row[0]) for row in self.spatial],
            "spatial_c_out": [int(row[4]) for row in self.spatial],
            "kernels": self.kernels,
            "spatial_thresholds": self.spatial_thresholds,
            "spatial_th_min": self.spatial_th_min,
            "spatial_moments": self.moments[0] if adam else [],
            **{f"spatial_{name}": value for name, value in spatial.items()},
            "sizes": np.array(self.sizes, dtype=np.int64),
            "weights": self.weights,
            "thresholds": self.thresholds,
            "th_min": self.th_min,
            "moments": self.moments[1] if adam else [],
            **layer_constants(len(self.weights), self.tau, self.refractory, self.kappa),
            **training_constants(self, solver),
        }
