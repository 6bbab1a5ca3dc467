"""SpikingMLPClassifier: a fully connected spiking network trained by backprop."""

from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import TRAINING_CONSTRAINTS, BaseSpikingClassifier
from ._network import Network, initial_thresholds

__all__ = ["SpikingMLPClassifier"]


class SpikingMLPClassifier(BaseSpikingClassifier):
    """Deep spiking network of LIF neurons trained on event streams by backpropagation.

    The method of Lee, Delbruck and Pfeiffer (2016): event-driven leaky
    integrate-and-fire neurons with a dynamic-weight refractory period and
    winner-take-all lateral inhibition, trained (by default with batch size 1) by
    backpropagating through the low-pass filtered spike activities, with
    error normalization, exponential weight regularization and threshold
    regularization. Defaults are the paper's Table 1 values for PI-MNIST, except
    where a measurement chose otherwise: the output layer's alpha (1.5), the
    threshold learning rate (0.1 of the weight rate for Adam too) and
    ``threshold_reg`` (rho scaled by the layer's size); docs/training.md lists
    each parameter against the paper.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(800,)
        Neurons per hidden layer.
    lateral_inhibition : tuple of float, default=None
        Winner-take-all strength kappa in [-1, 0] per layer, hidden layers then
        the output layer; 0 means no lateral inhibition. None means the paper's
        choice: -0.4 in the first hidden layer, none in the others, -1.0 in the
        output layer.
    tau : float, default=20e-3
        Membrane time constant in seconds (200e-3 for N-MNIST).
    refractory : float, default=1e-3
        Refractory period in seconds.
    alpha : float or tuple of float, default=(3.0, 1.5)
        Initial threshold of each layer in units of sqrt(3 / fan-in) (Eq. 10):
        one value for all layers, one per layer, or a pair (hidden layers,
        output layer): its first value for every hidden layer, its last for
        the output layer.
    solver : {"sgd", "adam"}, default="sgd"
        Optimizer.
    batch_size : int, default=1
        Samples per optimizer step. 1 is the paper's method. The samples of a
        batch are simulated in parallel threads (``n_jobs``) on the parameters
        of the batch's start, and their gradients are summed: the learning
        rate stays a per-sample rate, so an epoch moves SGD's parameters about
        as far at any batch size, while Adam makes one step per batch
        (docs/training.md, "Batches"). The result depends on ``batch_size``
        and ``random_state``, not on ``n_jobs``.
    adam_update : {"lazy", "dense"}, default="lazy"
        Adam's step in the fully connected layers: "lazy" moves only the
        entries the batch's samples touched (their moments too), "dense"
        every entry, with a zero gradient where none did (the moments decay;
        O(all weights) a step). Ignored by SGD.
    output_neurons : {"all", "firing"}, default="all"
        The output neurons of the backward pass: all of them, a silent target
        included (the paper's choice; docs/method.md), or the ones that fired
        and the target.
    learning_rate : float, default=0.002
        Weight learning rate eta_w of Eq. 13.
    threshold_learning_rate : float, default=None
        Threshold learning rate eta_th; None means 0.1 * learning_rate.
    learning_rate_scale : float or tuple of float, default=1.0
        Factors on both learning rates, per layer: one value for every layer,
        (hidden, output), or one value per layer. 1.0 is the paper's method;
        Eq. 13 does not balance the layers' rates (an SGD step moves an active
        hidden neuron's input drive about 50x more, in units of its threshold,
        than an output neuron's; docs/performance.md).
    weight_reg : float, default=0.002
        Exponential weight regularization lambda of Eq. 14, hidden layers only.
    weight_reg_beta : float, default=10.0
        beta of Eq. 14.
    threshold_reg : float, default=0.05
        Threshold regularization of the hidden layers: each spike raises the
        threshold of the neuron that fired by this fraction of the initial
        threshold, and lowers all N thresholds of the layer by 1/N of it (the
        paper's rho N; rho itself then scales with 1/N as SPEC section 4 asks).
    threshold_min : float, default=0.2
        Lower bound of the thresholds, as a fraction of their initial value;
        below it, a neuron's weights rise instead (paper 2.3.2).
    sigma : float, default=0.5
        Expected efficacy of lateral inhibition in the transfer function (Eq. 6).
    activity_tau : float, default=None
        Time constant (s) of the low-pass filtered spike trains of Eq. 4 that
        the backward pass reads at the end of a training window. None: the
        membrane's ``tau``, the paper's choice, for which Eq. 5 holds exactly;
        a longer one lets the spikes of the whole window into the gradient,
        ``float("inf")`` makes them spike counts. docs/training.md has its
        measured effect.
    output_loss : {"max_normalized", "cross_entropy"}, default="max_normalized"
        Loss on the output spike counts of a training window. "max_normalized"
        is the paper's Eq. 16: counts divided by their maximum against the
        one-hot target, zero as soon as the target is the only neuron firing.
        "cross_entropy" takes the softmax of the counts, so a correct but narrow
        win still teaches; docs/training.md has its measured effect.
    max_iter : int, default=30
        Training epochs for ``fit``.
    decay_epochs : float, default=35.0
        Learning rates and threshold regularization decay by exp(-1/decay_epochs)
        per epoch; None for no decay.
    average : bool or int, default=False
        Predict with the mean of the parameters (weights and thresholds) at the
        end of every epoch after the first ``average`` (True: every epoch;
        more often with ``average_every``), as
        stochastic weight averaging does; training goes on from the last
        parameters. From that epoch on the schedule holds: learning rates and
        regularization keep their values of epoch ``average``. False: predict
        with the last parameters. Set on a fitted model (``warm_start``,
        ``partial_fit``), the mean begins with the next epoch after
        ``average``; one begun after another epoch is discarded.
    average_learning_rate : float, default=None
        Weight learning rate while averaging (the threshold learning rate
        scaled alike); None keeps the held schedule's.
    average_every : int, default=None
        While averaging, also fold the parameters into the mean after every
        ``average_every`` training samples of an epoch; None: at the epoch's
        end only. Snapshots within the epoch average out more of the noise of
        batch-size-1 steps (docs/cnn.md). Changed on a fitted model, the mean
        begins anew.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    validation_fraction : float, default=0.0
        Fraction of the training samples held out (stratified) and scored after
        every epoch into ``validation_scores_``.
    early_stopping : bool, default=False
        Stop when the validation score has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, and keep the best parameters. Holds out 10 %
        when ``validation_fraction`` is 0.
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    sensor_size : tuple of int, default=None
        ``(width, height, polarities)`` of the events; None infers it at fit.
    warm_start : bool, default=False
        Whether ``fit`` continues from the current parameters.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the shuffling and the validation split.
    n_jobs : int, default=None
        Threads for training (the samples of a batch, so only with
        ``batch_size`` > 1) and prediction; None means 1, -1 all cores.
    verbose : int, default=0
        1 prints a line per epoch, 2 adds a progress bar within epochs.
    inference_dtype : {"float64", "float32"}, default="float64"
        dtype of membrane potentials, weights and thresholds when simulating in
        ``predict``, ``predict_proba`` and ``score`` (and for the validation
        scores of ``fit``); training is always float64. "float32" simulates
        faster, with rounding that can change a few predictions
        (docs/performance.md). Either way the simulation runs with potentials
        in units of the thresholds (``threshold_units`` of
        :func:`spikeclf.simulator.simulate`).
    early_stop_margin : int, default=None
        When set, ``predict`` (so ``score`` and the validation scores of
        ``fit``) stops each sample at the first
        output spike after which the neuron that fired leads every other
        output neuron by this many spikes, and answers its class
        (:meth:`predict_early`, docs/streaming.md); None simulates whole
        streams. ``predict_proba`` always reads the whole stream.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    coefs_ : list of ndarray
        Weight matrices, ``coefs_[l]`` of shape (n_in, n_out).
    thresholds_ : list of ndarray
        Thresholds of every layer.
    sensor_size_ : tuple of int
    n_features_in_ : int
        Input channels, ``width * height * polarities``.
    n_iter_ : int
        Epochs trained.
    t_ : int
        Training samples seen.
    loss_curve_ : list of float
        Mean loss (Eq. 16, without the regularization term) per epoch.
    train_scores_ : list of float
        Training accuracy per epoch, from the training presentations.
    validation_scores_ : list of float
        Validation accuracy per epoch (empty without validation).
    n_averaged_ : int
        Snapshots in the parameter mean: epochs, more with ``average_every``
        (0 without ``average``).
    epoch_stats_ : list of dict
        Per epoch: output spikes and synaptic operations per sample, seconds.
    synops_per_sample_ : float
        Mean synaptic operations per sample of the last prediction.

    Examples
    --------
    >>> from sklearn.model_selection import train_test_split
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> X, y = load_digits_events(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = SpikingMLPClassifier((100,), max_iter=3, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.5
    True
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [tuple, list],
        **TRAINING_CONSTRAINTS,
        "inference_dtype": [StrOptions({"float64", "float32"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(800,),
        lateral_inhibition=None,
        tau=20e-3,
        refractory=1e-3,
        alpha=(3.0, 1.5),
        solver="sgd",
        batch_size=1,
        adam_update="lazy",
        output_neurons="all",
        learning_rate=0.002,
        threshold_learning_rate=None,
        learning_rate_scale=1.0,
        weight_reg=0.002,
        weight_reg_beta=10.0,
        threshold_reg=0.05,
        threshold_min=0.2,
        sigma=0.5,
        activity_tau=None,
        output_loss="max_normalized",
        max_iter=30,
        decay_epochs=35.0,
        average=False,
        average_learning_rate=None,
        average_every=None,
        shuffle=True,
        validation_fraction=0.0,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        sensor_size=None,
        warm_start=False,
        random_state=None,
        n_jobs=None,
        verbose=0,
        inference_dtype="float64",
        early_stop_margin=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.lateral_inhibition = lateral_inhibition
        self.tau = tau
        self.refractory = refractory
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.adam_update = adam_update
        self.output_neurons = output_neurons
        self.learning_rate = learning_rate
        self.threshold_learning_rate = threshold_learning_rate
        self.learning_rate_scale = learning_rate_scale
        self.weight_reg = weight_reg
        self.weight_reg_beta = weight_reg_beta
        self.threshold_reg = threshold_reg
        self.threshold_min = threshold_min
        self.sigma = sigma
        self.activity_tau = activity_tau
        self.output_loss = output_loss
        self.max_iter = max_iter
        self.decay_epochs = decay_epochs
        self.average = average
        self.average_learning_rate = average_learning_rate
        self.average_every = average_every
        self.shuffle = shuffle
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.sensor_size = sensor_size
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.inference_dtype = inference_dtype
        self.early_stop_margin = early_stop_margin

    @property
    def coefs_(self):
        check_is_fitted(self)
        return self._prediction_network.weights

    @property
    def thresholds_(self):
        check_is_fitted(self)
        return self._prediction_network.thresholds

    # -------------------------------------------------------------- helpers
    def _inference_options(self):
        return {"dtype": self.inference_dtype, "threshold_units": True}

    def _initialize(self, packed, classes):
        if len(classes) < 2:
            raise ValueError(f"need at least 2 classes to train, got {list(classes)}")
        hidden = [int(h) for h in self.hidden_layer_sizes]
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be positive, got {hidden}")
        sizes = [packed.n_channels, *hidden, len(classes)]
        n_layers = len(sizes) - 1
        self._rng = check_random_state(self.random_state)
        network = Network.initialize(
            sizes,
            self._hidden_and_output(self.alpha, n_layers, "alpha"),
            self._kappa(n_layers),
            self.tau,
            self.refractory,
            self.threshold_min,
            self._rng,
        )
        self._adopt(network, classes, packed.sensor_size)

    def _adopt(self, network, classes, sensor_size):
        super()._adopt(network, classes, sensor_size)
        alpha = self._hidden_and_output(self.alpha, len(network.weights), "alpha")
        self._initial_thresholds = initial_thresholds(network.sizes, alpha)

    def _regularization(self, decay):
        """Threshold (rho) and weight (lambda) regularization per layer, hidden only."""
        sizes = self.network_.sizes
        hidden = range(len(sizes) - 2)
        # rho N, the rise of a firing neuron, is threshold_reg times its initial value.
        rho = [
            self.threshold_reg * decay * self._initial_thresholds[i] / sizes[i + 1]
            for i in hidden
        ] + [0.0]
        reg = [self.weight_reg for _ in hidden] + [0.0]
        return rho, reg

    def _learning_rate_factors(self):
        """learning_rate_scale as one factor per layer."""
        return self._hidden_and_output(
            self.learning_rate_scale, len(self.network_.weights), "learning_rate_scale"
        )

    def _kappa(self, n_layers):
        if self.lateral_inhibition is None:
            kappa = [0.0] * n_layers
            kappa[-1] = -1.0
            if n_layers > 1:
                kappa[0] = -0.4
            return kappa
        kappa = [float(k) for k in self.lateral_inhibition]
        if len(kappa) != n_layers:
            raise ValueError(
                f"lateral_inhibition needs one value per layer ({n_layers}: hidden "
                f"layers then output), got {len(kappa)}"
            )
        if not all(-1.0 <= k <= 0.0 for k in kappa):
            raise ValueError(
                f"lateral_inhibition values must be in [-1, 0], got {kappa}"
            )
        return kappa
