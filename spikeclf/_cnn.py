"""SpikingCNNClassifier: a spiking convolutional network trained by backprop."""

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import TRAINING_CONSTRAINTS, BaseSpikingClassifier
from ._network import ConvNetwork, initial_thresholds, parse_layers

__all__ = ["SpikingCNNClassifier"]

# ConvNetwork lived here: models pickled before it moved refer to
# spikeclf._cnn.ConvNetwork, which the import above keeps loadable.


class SpikingCNNClassifier(BaseSpikingClassifier):
    """Spiking convolutional network trained on event streams by backpropagation.

    The spiking CNN of Lee, Delbruck and Pfeiffer (2016, section 3.2):
    event-driven convolution layers (stride 1, no padding, shared kernels,
    one threshold per feature map), 2x2 pooling layers of spiking neurons with
    weights 1 and threshold 0.8 (refractory, not trained), then fully
    connected layers, all of leaky integrate-and-fire neurons with the
    dynamic-weight refractory period. Trained (by default with batch size 1) by
    backpropagating through the low-pass filtered spike activities, the error
    normalized per neuron (docs/cnn.md). Same interface and behaviour as
    :class:`SpikingMLPClassifier`; every event stream is a ``(width, height,
    polarities)`` image of events, polarity the input channel.

    Parameters
    ----------
    layers : str, default="20c5-p2-50c5-p2-200"
        Hidden layers joined by ``-``: ``NcK`` a convolution of N feature maps
        with KxK kernels, ``p2`` a 2x2 pooling, ``N`` a fully connected layer of
        N neurons (only after the others). The output layer (one neuron per
        class) follows.
    lateral_inhibition : tuple of float, default=None
        kappa in [-1, 0] per convolution and fully connected layer, output
        last; in a convolution, winner-take-all among the feature maps at one
        position. None: -0.4 in every convolution and in the first fully
        connected hidden layer, none in the other hidden layers, -1.0 in the
        output layer. Without inhibition in the convolutions their activity
        grows during training (docs/cnn.md: 5 times the synaptic operations
        after 1,000 MNIST samples, against 2 times with it).
    tau : float, default=20e-3
        Membrane time constant in seconds, every layer.
    refractory : float, default=1e-3
        Refractory period in seconds, every layer (pooling too).
    alpha : float or tuple of float, default=(3.0, 1.5)
        Initial thresholds in units of sqrt(3 / M) (Eq. 10), per convolution
        and fully connected layer as in :class:`SpikingMLPClassifier`.
    pool_threshold : float, default=0.8
        Threshold of the pooling neurons (weights 1).
    solver : {"adam", "sgd"}, default="adam"
        Optimizer; the paper trained its CNN with Adam.
    batch_size : int, default=1
        Samples per optimizer step, simulated in parallel threads
        (``n_jobs``), as in :class:`SpikingMLPClassifier`.
    adam_update : {"lazy", "dense"}, default="lazy"
        As in :class:`SpikingMLPClassifier` (the fully connected layers).
    output_neurons : {"all", "firing"}, default="all"
        As in :class:`SpikingMLPClassifier`.
    learning_rate : float, default=5e-4
    threshold_learning_rate : float, default=None
        None means 0.1 * learning_rate.
    learning_rate_scale : float or tuple of float, default=1.0
        Factors on both learning rates per trained layer (convolutions, then
        the fully connected layers, output last; pooling has no parameters):
        one value, (hidden, output), or one per trained layer, as in
        :class:`SpikingMLPClassifier`.
    weight_reg : float, default=0.002
        Exponential weight regularization lambda (Eq. 14) of the hidden layers,
        a feature map's kernel taken as the weights of one neuron.
    weight_reg_beta : float, default=10.0
    threshold_reg : float, default=0.05
        Threshold regularization of the fully connected hidden layers, as in
        :class:`SpikingMLPClassifier`; not applied to feature maps, which share
        one threshold over all positions.
    threshold_min : float, default=0.2
    sigma : float, default=0.5
    activity_tau : float, default=None
        Time constant (s) of the training activities, as in
        SpikingMLPClassifier; None: ``tau``.
    output_loss : {"max_normalized", "cross_entropy"}, default="max_normalized"
    max_iter : int, default=30
    decay_epochs : float, default=35.0
    average : bool or int, default=False
        Parameter averaging over epochs, as in SpikingMLPClassifier.
    average_learning_rate : float, default=None
    average_every : int, default=None
        As in SpikingMLPClassifier. Under Adam at batch size 1 the CNN's last
        parameters swing by points from one epoch to the next; a mean of
        snapshots every 2,000 samples took the best model from 97.18 to
        97.53 % in one epoch (docs/cnn.md).
    shuffle : bool, default=True
    validation_fraction : float, default=0.0
    early_stopping : bool, default=False
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    sensor_size : tuple of int, default=None
        ``(width, height, polarities)``; None infers it at fit.
    warm_start : bool, default=False
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        Threads for training (the samples of a batch, so only with
        ``batch_size`` > 1) and prediction; None means 1, -1 all cores.
    verbose : int, default=0
    inference_dtype : {"float64", "float32"}, default="float64"
        dtype of membrane potentials, weights and thresholds when simulating in
        ``predict``, ``predict_proba`` and ``score`` (and for the validation
        scores of ``fit``), as in :class:`SpikingMLPClassifier`; training is
        always float64. Either way the simulation runs with every potential in
        units of its neuron's threshold (``threshold_units`` of
        :func:`spikeclf.convolution.simulate_conv`: a feature map's kernel
        divided by its map's threshold, a pooling weight by the pooling
        threshold, a dense neuron's weights by its threshold); docs/cnn.md,
        "Cheaper inference", has the measured cost.
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
    coefs_ : list of ndarray
        Per convolution layer its kernels ``(C_out, C_in, K, K)``, then the
        fully connected weights ``(n_in, n_out)``.
    thresholds_ : list of ndarray
        Per convolution layer one threshold per feature map, then the fully
        connected layers'.
    sensor_size_ : tuple of int
    n_features_in_ : int
    n_iter_, t_, loss_curve_, train_scores_ :
        As in :class:`SpikingMLPClassifier`.
    validation_scores_, n_averaged_, epoch_stats_ :
        As in :class:`SpikingMLPClassifier`.
    synops_per_sample_ : float
        Mean synaptic operations per sample of the last prediction.

    Examples
    --------
    >>> from sklearn.model_selection import train_test_split
    >>> from spikeclf import SpikingCNNClassifier, load_digits_events
    >>> X, y = load_digits_events(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = SpikingCNNClassifier("8c3-p2-50", max_iter=3, random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.3
    True
    >>> [w.shape for w in clf.coefs_]
    [(8, 1, 3, 3), (72, 50), (50, 10)]

    Predicting in float32 (training stays float64) gives the same answers here:

    >>> y64 = clf.predict(X_test)
    >>> bool((clf.set_params(inference_dtype="float32").predict(X_test) == y64).all())
    True
    """

    _parameter_constraints = {
        "layers": [str],
        "pool_threshold": [Interval(Real, 0, None, closed="neither")],
        **TRAINING_CONSTRAINTS,
        "inference_dtype": [StrOptions({"float64", "float32"})],
    }

    def __init__(
        self,
        layers="20c5-p2-50c5-p2-200",
        lateral_inhibition=None,
        tau=20e-3,
        refractory=1e-3,
        alpha=(3.0, 1.5),
        pool_threshold=0.8,
        solver="adam",
        batch_size=1,
        adam_update="lazy",
        output_neurons="all",
        learning_rate=5e-4,
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
        self.layers = layers
        self.lateral_inhibition = lateral_inhibition
        self.tau = tau
        self.refractory = refractory
        self.alpha = alpha
        self.pool_threshold = pool_threshold
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
        net = self._prediction_network
        kernels = [k.transpose(3, 0, 1, 2) for k in net.kernels if k is not None]
        return kernels + list(net.weights)

    @property
    def thresholds_(self):
        check_is_fitted(self)
        net = self._prediction_network
        conv = [
            th
            for k, th in zip(net.kernels, net.spatial_thresholds, strict=True)
            if k is not None
        ]
        return conv + list(net.thresholds)

    def _inference_options(self):
        return {"dtype": self.inference_dtype, "threshold_units": True}

    def _initialize(self, packed, classes):
        if len(classes) < 2:
            raise ValueError(f"need at least 2 classes to train, got {list(classes)}")
        layers = parse_layers(self.layers)
        n_trained = sum(ly[0] != "pool" for ly in layers) + 1
        width, height, channels = packed.sensor_size
        self._rng = check_random_state(self.random_state)
        network = ConvNetwork.initialize(
            (channels, height, width),
            layers,
            len(classes),
            self._hidden_and_output(self.alpha, n_trained, "alpha"),
            self._kappa(layers),
            self.tau,
            self.refractory,
            self.threshold_min,
            self.pool_threshold,
            self._rng,
        )
        self._adopt(network, classes, packed.sensor_size)

    def _kappa(self, layers):
        n_conv = sum(ly[0] == "conv" for ly in layers)
        n_dense = sum(ly[0] == "dense" for ly in layers) + 1
        if self.lateral_inhibition is None:
            dense = [0.0] * n_dense
            dense[-1] = -1.0
            if n_dense > 1:
                dense[0] = -0.4
            return [-0.4] * n_conv + dense
        kappa = [float(k) for k in self.lateral_inhibition]
        if len(kappa) != n_conv + n_dense:
            raise ValueError(
                f"lateral_inhibition needs one value per convolution and fully "
                f"connected layer ({n_conv + n_dense}, output last), got {len(kappa)}"
            )
        if not all(-1.0 <= k <= 0.0 for k in kappa):
            raise ValueError(
                f"lateral_inhibition values must be in [-1, 0], got {kappa}"
            )
        return kappa

    def _learning_rate_factors(self):
        """learning_rate_scale as one factor per layer, spatial then dense
        (1 for pooling, which has no parameters)."""
        net = self.network_
        n_trained = sum(k is not None for k in net.kernels) + len(net.weights)
        factors = iter(
            self._hidden_and_output(
                self.learning_rate_scale, n_trained, "learning_rate_scale"
            )
        )
        spatial = [1.0 if k is None else next(factors) for k in net.kernels]
        return spatial + list(factors)

    def _regularization(self, decay):
        """rho and lambda per layer, spatial then dense; hidden layers only.

        rho = threshold_reg * V_th(initial) / N with N the neurons of the layer
        (C_out positions of a convolution), as in SpikingMLPClassifier.
        """
        net = self.network_
        n_trained = sum(k is not None for k in net.kernels) + len(net.weights)
        alpha = iter(self._hidden_and_output(self.alpha, n_trained, "alpha"))
        rho, reg = [], []
        for row, kernel in zip(net.spatial, net.kernels, strict=True):
            if kernel is None:
                rho.append(0.0)
                reg.append(0.0)
                continue
            _, c_in, h_in, w_in, c_out, size = row
            start = next(alpha) * np.sqrt(3.0 / (c_in * size * size))
            n_neurons = c_out * (h_in - size + 1) * (w_in - size + 1)
            rho.append(self.threshold_reg * decay * start / n_neurons)
            reg.append(self.weight_reg)
        sizes = net.sizes
        start = initial_thresholds(sizes, list(alpha))
        for i in range(len(sizes) - 2):
            rho.append(self.threshold_reg * decay * start[i] / sizes[i + 1])
            reg.append(self.weight_reg)
        return rho + [0.0], reg + [0.0]
