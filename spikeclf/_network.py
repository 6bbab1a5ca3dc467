"""The parameters of a fully connected spiking network and their training state.

A thin holder between the estimators and the kernels: it initializes the
parameters (Eq. 10), keeps what training needs between epochs (threshold lower
bounds, Adam moments, step counters) and hands the arrays to
``spikeclf._backward.train_epoch`` and ``spikeclf.simulator.simulate``.
"""

import copy
from dataclasses import dataclass, field, replace

import numpy as np

from ._backward import train_epoch
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


def layer_arguments(n_layers, tau, refractory, kappa, rho, reg_lambda):
    """The per-layer constants the training kernels take after a group's arrays:
    tau and T_ref in microseconds, kappa, rho and lambda."""
    return (
        np.full(n_layers, tau * 1e6), np.full(n_layers, refractory * 1e6),
        np.asarray(kappa, float), np.ascontiguousarray(rho, float),
        np.ascontiguousarray(reg_lambda, float),
    )  # fmt: skip


def _solver_arguments(
    result,
    counters,
    reg_beta,
    reg_every,
    sigma,
    activity_tau,
    lr_w,
    lr_th,
    adam,
    output_loss,
):
    """The arguments both training kernels end with: solver, loss and outputs.

    ``activity_tau`` in seconds (inf: spike counts)."""
    beta1, beta2, eps = adam if adam is not None else (0.9, 0.999, 1e-8)
    return (
        reg_beta, reg_every, sigma, activity_tau * 1e6, lr_w, lr_th, adam is not None,
        beta1, beta2, eps,
        output_loss == "cross_entropy", counters, result.loss, result.predicted,
        result.output_spikes, result.synops,
    )  # fmt: skip


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

    def train_epoch(
        self,
        packed,
        t_end_us,
        targets,
        order,
        *,
        lr_w,
        lr_th,
        rho,
        reg_lambda,
        reg_beta,
        reg_every,
        sigma,
        adam,
        output_loss="max_normalized",
        activity_tau=None,
    ):
        """One pass over ``order`` (batch size 1); parameters change in place.

        ``activity_tau`` (s): time constant of the activities of Eq. 4 that the
        backward pass reads; None: the membrane's ``tau``, the paper's.
        """
        if self.reset != "subtract" or not self.lower_bound:
            raise ValueError(
                "this network has NIR's LIF neurons (reset to 0, no lower bound), "
                "which spikeclf simulates but cannot train; training needs the "
                "paper's neuron"
            )
        if adam is not None and not self.moments:
            self.moments = zero_moments(self.weights, self.thresholds)
        result = EpochResult.empty(packed.n_samples)
        status = train_epoch(
            packed.channel,
            packed.t,
            packed.indptr,
            t_end_us,
            np.ascontiguousarray(targets, dtype=np.int32),
            np.ascontiguousarray(order, dtype=np.int64),
            np.array(self.sizes, dtype=np.int64),
            self.weights,
            self.thresholds,
            [np.zeros(w.shape[1]) for w in self.weights],
            self.th_min,
            self.moments if adam is not None else [],
            *layer_arguments(
                len(self.weights),
                self.tau,
                self.refractory,
                self.kappa,
                rho,
                reg_lambda,
            ),
            *_solver_arguments(
                result,
                self.counters,
                reg_beta,
                reg_every,
                sigma,
                self.tau if activity_tau is None else activity_tau,
                lr_w,
                lr_th,
                adam,
                output_loss,
            ),
        )
        return result.visited(order, status)

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
