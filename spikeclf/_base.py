"""What the spiking classifiers share: training epochs, prediction, persistence.

The estimators differ in their network (its construction and its
regularization per layer); everything that turns epochs of event streams into
a fitted classifier is here, over a network object with ``train_epoch`` and
``simulate`` (spikeclf._network.Network and ConvNetwork).
"""

import copy
import time
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from ._network import TrainingDiverged, prediction_copy
from ._params import N_JOBS
from ._persistence import check_state_format, dump_atomically, state_format
from .events import check_events, iter_packed
from .simulator import SimulationResult

# Samples per kernel call: the granularity of progress bars and interruptions.
_BLOCK = 2000
_PREDICT_CHUNK = 1024
# What an epoch changes: restored when one is interrupted or diverges.
_TRAINING_STATE = (
    "network_",
    "averaged_network_",
    "n_averaged_",
    "_mean_state",
    "n_iter_",
    "t_",
    "loss_curve_",
    "train_scores_",
    "validation_scores_",
    "epoch_stats_",
    "_rng",
)


# The parameters every spiking classifier has, with their constraints.
TRAINING_CONSTRAINTS = {
    "lateral_inhibition": [tuple, list, None],
    "tau": [Interval(Real, 0, None, closed="neither")],
    "refractory": [Interval(Real, 0, None, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="neither"), tuple, list],
    "solver": [StrOptions({"sgd", "adam"})],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "threshold_learning_rate": [Interval(Real, 0, None, closed="left"), None],
    "learning_rate_scale": [Interval(Real, 0, None, closed="neither"), tuple, list],
    "weight_reg": [Interval(Real, 0, None, closed="left")],
    "weight_reg_beta": [Interval(Real, 0, None, closed="neither")],
    "threshold_reg": [Interval(Real, 0, None, closed="left")],
    "threshold_min": [Interval(Real, 0, 1, closed="both")],
    "sigma": [Interval(Real, 0, 1, closed="both")],
    "activity_tau": [Interval(Real, 0, None, closed="right"), None],
    "output_loss": [StrOptions({"max_normalized", "cross_entropy"})],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "decay_epochs": [Interval(Real, 0, None, closed="neither"), None],
    "average": ["boolean", Interval(Integral, 0, None, closed="left")],
    "average_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    "average_every": [Interval(Integral, 1, None, closed="left"), None],
    "shuffle": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "early_stopping": ["boolean"],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "sensor_size": [tuple, list, None],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "adam_update": [StrOptions({"lazy", "dense"})],
    "output_neurons": [StrOptions({"all", "firing"})],
    "n_jobs": N_JOBS,
    "verbose": ["verbose"],
    "early_stop_margin": [Interval(Integral, 1, None, closed="left"), None],
}


def _kernel_calls(n_samples, batch_size, average_every):
    """Where an epoch's kernel calls start, and after which samples a snapshot
    joins the parameter mean (``average_every``; None: none within the epoch).

    Calls end every _BLOCK samples and at every snapshot, always between two
    batches: a snapshot due inside a batch is taken at the batch's end.
    """

    def at_batch_ends(positions):
        return np.unique(-(-np.asarray(positions, np.int64) // batch_size) * batch_size)

    block = -(-_BLOCK // batch_size) * batch_size
    starts = np.arange(0, n_samples, block)
    snapshots = set()
    if average_every is not None:
        due = at_batch_ends(np.arange(average_every, n_samples, average_every))
        snapshots = {int(e) for e in due if e < n_samples}
        # As integers even when there is none (average_every >= n_samples):
        # the starts slice the epoch's order.
        starts = np.union1d(starts, np.array(sorted(snapshots), dtype=np.int64))
    return starts, snapshots


class BaseSpikingClassifier(ClassifierMixin, BaseEstimator):
    """Fit, predict and persistence of a spiking classifier over its network.

    Subclasses set ``_parameter_constraints`` and ``__init__`` (with at least
    the parameters used here), and implement ``_initialize(packed, classes)``
    and ``_regularization(decay)``.
    """

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, checkpoint=None):
        """Train for ``max_iter`` epochs (from scratch unless ``warm_start``).

        An interrupt (Ctrl-C) or a diverging epoch leaves the estimator as it
        was after the last completed epoch, then raises.

        Parameters
        ----------
        X : list of event streams
            Structured arrays with fields x, y, t (microseconds), p; see
            :func:`spikeclf.check_events`. Each stream is one presentation;
            activities are read at its last event.
        y : array-like of shape (n_samples,)
            Labels, of any type.
        checkpoint : str or path-like, default=None
            File that receives the estimator (joblib, written atomically) after
            every epoch. To continue an interrupted fit, load it with
            ``joblib.load`` and fit again with ``warm_start=True`` and the
            epochs that remain as ``max_iter``.

        Returns
        -------
        self : object
        """
        fresh = not (self.warm_start and hasattr(self, "network_"))
        packed, y = self._validate_training_data(X, y, reset=fresh)
        if fresh:
            self._initialize(packed, np.unique(y))
        packed, targets, validation = self._split_validation(packed, self._encode(y))
        best_score, best_params, stale = -np.inf, None, 0
        for _ in range(self.max_iter):
            self._train_epoch_or_roll_back((packed, targets), validation)
            if checkpoint is not None:
                dump_atomically(self, checkpoint)
            if validation is None:
                continue
            if self.validation_scores_[-1] > best_score + self.tol:
                best_score, best_params, stale = (
                    self.validation_scores_[-1],
                    self._snapshot(),
                    0,
                )
            else:
                stale += 1
            if self.early_stopping and stale >= self.n_iter_no_change:
                break
        if self.early_stopping and best_params is not None:
            self._restore(best_params)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Train one epoch on ``X``, continuing from the current parameters.

        Parameters
        ----------
        X : list of event streams
        y : array-like of shape (n_samples,)
        classes : array-like, default=None
            All labels; required on the first call unless ``y`` holds them all.

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "network_")
        packed, y = self._validate_training_data(X, y, reset=first)
        if first:
            self._initialize(
                packed, np.unique(y) if classes is None else np.unique(classes)
            )
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={list(np.unique(classes))} differs from the classes of the "
                f"first call {list(self.classes_)}"
            )
        self._train_epoch_or_roll_back((packed, self._encode(y)), None)
        return self

    def _drop_mean(self):
        """Forget the running parameter mean: predict with ``network_`` again."""
        self.averaged_network_ = None
        self.n_averaged_ = 0
        self._mean_state = None

    def _adopt(self, network, classes, sensor_size):
        """Make ``network`` this estimator's, untrained: fit from scratch or import."""
        if not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        self.classes_ = np.asarray(classes)
        self.sensor_size_ = tuple(int(s) for s in sensor_size)
        self.n_features_in_ = int(np.prod(self.sensor_size_))
        self.network_ = network
        self._drop_mean()
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.train_scores_ = []
        self.validation_scores_ = []
        self.epoch_stats_ = []

    # -------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities: output spike counts normalized to sum 1.

        A sample without any output spike falls back to a softmax of the
        output membrane potentials relative to their thresholds.

        Parameters
        ----------
        X : list of event streams

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._proba(self._simulate(X))

    def _proba(self, result):
        """predict_proba of a simulation result."""
        counts = result.counts.astype(np.float64)
        totals = counts.sum(axis=1, keepdims=True)
        proba = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        silent = totals[:, 0] == 0
        if silent.any():
            z = result.v[silent] / self._prediction_network.thresholds[-1]
            z = np.exp(z - z.max(axis=1, keepdims=True))
            proba[silent] = z / z.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Most active output neuron's class (ties: the first).

        Parameters
        ----------
        X : list of event streams

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        if getattr(self, "early_stop_margin", None) is not None:
            return self.predict_early(X).y_pred
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_early(self, X, margin=None):
        """Predict every sample, stopping it once its answer is settled.

        A sample is decided at the first output spike after which the output
        neuron that fired has ``margin`` more spikes than every other; its
        class is that neuron's, and no later input event is simulated. A
        sample that never gets there is predicted from its whole stream.
        ``predict`` does this when ``early_stop_margin`` is set
        (docs/streaming.md).

        Parameters
        ----------
        X : list of event streams
        margin : int, default=None
            At least 1; None means ``early_stop_margin``.

        Returns
        -------
        decisions : spikeclf.streaming.EarlyDecisions
            ``y_pred``, ``proba``, ``decided``, ``decision_time`` (seconds),
            ``synops`` and ``inhibitions`` per sample.

        Examples
        --------
        >>> from spikeclf import SpikingMLPClassifier, load_digits_events
        >>> X, y = load_digits_events(return_X_y=True, random_state=0)
        >>> clf = SpikingMLPClassifier((30,), max_iter=2, random_state=0)
        >>> clf = clf.fit(X[:300], y[:300])
        >>> early = clf.predict_early(X[300:400], margin=2)
        >>> bool(early.synops.sum() < clf.synaptic_operations(X[300:400])[0].sum())
        True
        """
        from .streaming import early_decisions

        margin = getattr(self, "early_stop_margin", None) if margin is None else margin
        if margin is None:
            raise ValueError(
                "predict_early needs a margin: pass margin=k or set early_stop_margin"
            )
        return early_decisions(self, X, int(margin))

    def stream(self):
        """A stream that takes events chunk by chunk and answers as they arrive.

        Returns
        -------
        stream : spikeclf.streaming.EventStream
            ``push(events)`` runs the next chunk and returns the class
            probabilities so far; at the stream's end they are those of
            ``predict_proba`` on the whole stream (docs/streaming.md).

        Examples
        --------
        >>> import numpy as np
        >>> from spikeclf import SpikingMLPClassifier, load_digits_events
        >>> X, y = load_digits_events(return_X_y=True, random_state=0)
        >>> clf = SpikingMLPClassifier((30,), max_iter=2, random_state=0)
        >>> clf = clf.fit(X[:300], y[:300])
        >>> stream = clf.stream()
        >>> for events in np.array_split(X[300], 4):
        ...     proba = stream.push(events)
        >>> bool(np.all(proba == clf.predict_proba(X[300:301])[0]))
        True
        """
        from .streaming import EventStream

        return EventStream(self)

    def synaptic_operations(self, X):
        """Synaptic operations per sample and layer, and lateral-inhibition updates.

        Parameters
        ----------
        X : list of event streams

        Returns
        -------
        synops : ndarray of int64, shape (n_samples, n_layers)
        inhibitions : ndarray of int64, shape (n_samples, n_layers)
        """
        result = self._simulate(X)
        return result.synops, result.inhibitions

    # -------------------------------------------------------------- helpers
    @property
    def _prediction_network(self):
        """The network that predicts: the running mean of the parameters, if any."""
        averaged = getattr(self, "averaged_network_", None)
        return self.network_ if averaged is None else averaged

    def _averaging_start(self):
        """Epochs after which parameters are averaged; None without averaging."""
        if isinstance(self.average, bool | np.bool_):
            return 0 if self.average else None
        return int(self.average)

    def _schedule(self):
        """Learning rates and the decay factor of the regularization this epoch.

        Everything decays by exp(-epoch / decay_epochs); while parameters are
        averaged the schedule holds at its value of the epoch averaging began
        (stochastic weight averaging's constant learning rate), with the weight
        learning rate ``average_learning_rate`` when given (the threshold
        learning rate scaled alike).
        """
        epoch, start = self.n_iter_, self._averaging_start()
        if start is not None:
            epoch = min(epoch, start)
        decay = np.exp(-epoch / self.decay_epochs) if self.decay_epochs else 1.0
        lr_w = self.learning_rate * decay
        lr_th = (
            0.1 * self.learning_rate
            if self.threshold_learning_rate is None
            else self.threshold_learning_rate
        ) * decay
        if self._averaging_this_epoch() and self.average_learning_rate:
            lr_w = self.average_learning_rate
            lr_th = (
                0.1 * lr_w
                if self.threshold_learning_rate is None
                else self.threshold_learning_rate * lr_w / self.learning_rate
            )
        return lr_w, lr_th, decay

    def _averaging_this_epoch(self):
        """Whether the epoch about to be trained adds to the parameter mean."""
        start = self._averaging_start()
        return start is not None and getattr(self, "n_iter_", 0) >= start

    def _fold_into_mean(self):
        """Fold the current parameters into their running mean.

        The mean is of the snapshots of the epochs after ``average``, every
        ``average_every`` samples and at each epoch's end; ``_mean_state`` holds
        (average, average_every, epoch of the last snapshot) to tell whether the
        current mean is that one.
        """
        epoch = self.n_iter_ + 1  # the epoch being trained
        start, every = self._averaging_start(), self.average_every
        going_on = ((start, every, epoch - 1), (start, every, epoch))
        if (
            getattr(self, "averaged_network_", None) is None
            or getattr(self, "_mean_state", None) not in going_on
        ):
            # A mean begun after another epoch, of snapshots at another interval
            # or with epochs missing (``average`` or ``average_every`` changed
            # since, as a resumed run may) is not the mean asked for: it starts
            # anew with this snapshot.
            self.averaged_network_ = prediction_copy(self.network_)
            self.n_averaged_ = 1
        else:
            self.n_averaged_ += 1
            for mean, value in zip(
                self.averaged_network_.parameters(),
                self.network_.parameters(),
                strict=True,
            ):
                mean += (value - mean) / self.n_averaged_
        self._mean_state = (start, every, epoch)

    def _simulate(self, X):
        check_is_fitted(self)
        # Chunks bound the memory of packing to one chunk, whatever len(X) is.
        parts = [
            self._prediction_network.simulate(
                chunk, n_jobs=self.n_jobs, **self._inference_options()
            )
            for chunk in iter_packed(X, self.sensor_size_, _PREDICT_CHUNK)
        ]
        result = SimulationResult(
            *(
                np.concatenate([getattr(p, name) for p in parts])
                for name in ("counts", "v", "synops", "inhibitions")
            )
        )
        self.synops_per_sample_ = float(result.synops.sum(axis=1).mean())
        return result

    def _inference_options(self):
        """Keyword arguments of the network's ``simulate`` when predicting."""
        return {}

    def _validate_training_data(self, X, y, reset):
        y = column_or_1d(y, warn=True)
        if len(y) == 0:
            raise ValueError("the data set is empty: at least one sample is needed")
        check_classification_targets(y)
        if reset and len(np.unique(y)) < 2:
            raise ValueError(
                "need samples of at least 2 classes to train, got 1 class"
                + (" (1 sample)" if len(y) == 1 else "")
            )
        packed = check_events(X, self.sensor_size if reset else self.sensor_size_)
        check_consistent_length(np.empty(packed.n_samples), y)
        return packed, y

    @staticmethod
    def _hidden_and_output(value, n_layers, name):
        if np.ndim(value) == 0:
            return [float(value)] * n_layers
        values = [float(v) for v in value]
        if not values or any(v <= 0 for v in values):
            raise ValueError(f"{name} must be positive, got {value!r}")
        if len(values) != n_layers and len(values) <= 2:
            values = [values[0]] * (n_layers - 1) + [values[-1]]
        if len(values) != n_layers:
            raise ValueError(
                f"{name} needs at most {n_layers} values, got {len(values)}"
            )
        return values

    def _encode(self, y):
        targets = np.searchsorted(self.classes_, y)
        unknown = (targets >= len(self.classes_)) | (
            self.classes_[np.minimum(targets, len(self.classes_) - 1)] != y
        )
        if unknown.any():
            raise ValueError(
                f"y holds labels not seen at the first fit: {np.unique(y[unknown])[:5]}"
            )
        return targets.astype(np.int32)

    def _split_validation(self, packed, targets):
        fraction = self.validation_fraction
        if self.early_stopping and fraction == 0:
            fraction = 0.1
        if fraction == 0:
            return packed, targets, None
        idx = np.arange(packed.n_samples)
        stratify = targets if np.bincount(targets).min() >= 2 else None
        train, valid = train_test_split(
            idx,
            test_size=fraction,
            random_state=self._rng.randint(2**31),
            stratify=stratify,
        )
        return (
            packed.subset(train),
            targets[train],
            (packed.subset(valid), targets[valid]),
        )

    def _train_epoch_or_roll_back(self, training, validation):
        """One epoch; after an interrupt or a divergence, the state before it."""
        before = copy.deepcopy({name: getattr(self, name) for name in _TRAINING_STATE})
        try:
            self._train_one_epoch(training, validation)
        except (KeyboardInterrupt, TrainingDiverged) as exc:
            for name, value in before.items():
                setattr(self, name, value)
            if isinstance(exc, TrainingDiverged):
                raise TrainingDiverged(
                    f"{exc} (in epoch {self.n_iter_ + 1}); the estimator keeps the "
                    f"parameters of epoch {self.n_iter_}"
                ) from None
            raise

    def _train_one_epoch(self, training, validation):
        packed, targets = training
        start = time.perf_counter()
        lr_w, lr_th, decay = self._schedule()
        rho, reg = self._regularization(decay)
        lr_factor = self._learning_rate_factors()
        t_end = packed.last_times()
        order = (
            self._rng.permutation(packed.n_samples)
            if self.shuffle
            else np.arange(packed.n_samples)
        )
        averaging = self._averaging_this_epoch()
        starts, snapshots = _kernel_calls(
            len(order), self.batch_size, self.average_every if averaging else None
        )
        ends = [*starts[1:], len(order)]
        progress = None
        if self.verbose >= 2:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(order), desc=f"epoch {self.n_iter_ + 1}")
        results = []
        for b, e in zip(starts, ends, strict=True):
            results.append(
                self.network_.train_epoch(
                    packed,
                    t_end,
                    targets,
                    order[b:e],
                    lr_w=lr_w,
                    lr_th=lr_th,
                    rho=rho,
                    reg_lambda=reg,
                    lr_factor=lr_factor,
                    reg_beta=self.weight_reg_beta,
                    reg_every=100,
                    sigma=self.sigma,
                    activity_tau=self.activity_tau,
                    adam=(0.9, 0.999, 1e-8) if self.solver == "adam" else None,
                    output_loss=self.output_loss,
                    batch_size=self.batch_size,
                    n_threads=effective_n_jobs(self.n_jobs),
                    adam_update=self.adam_update,
                    output_neurons=self.output_neurons,
                )
            )
            if progress is not None:
                progress.update(e - b)
            if e in snapshots:
                self._fold_into_mean()
        if progress is not None:
            progress.close()
        if averaging:
            self._fold_into_mean()  # every epoch ends with a snapshot
        loss = np.concatenate([r.loss for r in results])
        predicted = np.concatenate([r.predicted for r in results])
        self.n_iter_ += 1
        self.t_ += len(order)
        self.loss_curve_.append(float(loss.mean()))
        self.train_scores_.append(float(np.mean(predicted == targets[order])))
        stats = {
            "output_spikes": float(
                np.concatenate([r.output_spikes for r in results]).mean()
            ),
            "synops": float(np.concatenate([r.synops for r in results]).mean()),
            "seconds": time.perf_counter() - start,
        }
        if validation is not None:
            self.validation_scores_.append(
                float(
                    np.mean(self.predict(validation[0]) == self.classes_[validation[1]])
                )
            )
        self.epoch_stats_.append(stats)
        if self.verbose:
            valid = (
                f", validation {self.validation_scores_[-1]:.4f}"
                if validation is not None
                else ""
            )
            print(
                f"epoch {self.n_iter_}: loss {self.loss_curve_[-1]:.4f}, train "
                f"{self.train_scores_[-1]:.4f}{valid}, {stats['output_spikes']:.1f} "
                "output "
                f"spikes and {stats['synops']:.3g} synaptic operations per sample, "
                f"{stats['seconds']:.1f} s",
                flush=True,
            )

    def _snapshot(self):
        return copy.deepcopy((self.network_, getattr(self, "averaged_network_", None)))

    def _restore(self, snapshot):
        self.network_, self.averaged_network_ = snapshot

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : list of event streams
        y : array-like of shape (n_samples,)
            True labels; every one must be among ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        self._encode(column_or_1d(y))  # raises on labels the model never saw
        return super().score(X, y, sample_weight=sample_weight)

    def __getstate__(self):
        return {**super().__getstate__(), **state_format()}

    def __setstate__(self, state):
        state = check_state_format(state, type(self).__name__)
        # A parameter or fitted attribute added since the file was written takes
        # its default.
        defaults = type(self)().get_params(deep=False)
        if "network_" in state:
            defaults.update(averaged_network_=None, n_averaged_=0, _mean_state=None)
            if state.get("averaged_network_") is not None:
                # Written before average_every: a mean of the epochs after
                # n_iter_ - n_averaged_, the last one n_iter_.
                n_iter = state["n_iter_"]
                defaults["_mean_state"] = (n_iter - state["n_averaged_"], None, n_iter)
        super().__setstate__({**defaults, **state})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
