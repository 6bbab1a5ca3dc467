"""Export to and import from the Neuromorphic Intermediate Representation (NIR).

A fitted :class:`~spikeclf.SpikingMLPClassifier` becomes the graph
``Input -> Linear -> LIF -> Linear -> LIF ... -> Output``, which snntorch, norse,
sinabs and Lava import. The input is flat, channel ``x + width * (y + height *
p)`` as spikeclf packs events (the sensor size is in the graph's metadata): the
importers disagree on whether NIR's Flatten counts a batch dimension. NIR's LIF neuron
is ``tau dv/dt = (v_leak - v) + r I``: with ``v_leak = 0`` and ``r = tau`` an
input spike through weight ``w`` raises ``v`` by ``w``, as in spikeclf.

A fitted :class:`~spikeclf.SpikingCNNClassifier` becomes ``Input (C, H, W)``,
then per convolution ``Conv2d -> LIF`` (stride 1, no padding, zero bias; the
kernels as ``(C_out, C_in, K, K)``, the LIF arrays of shape ``(C_out, H', W')``
with the threshold of each feature map at each of its positions), per 2x2
pooling ``SumPool2d -> LIF`` (weights 1, threshold ``pool_threshold``), then
``Flatten`` (``start_dim=0``: NIR's shapes have no batch dimension) and the fully
connected chain above.

What NIR's LIF cannot express, and spikeclf's neuron has (paper section 2.1):

- winner-take-all lateral inhibition (``lateral_inhibition``);
- the dynamic-weight refractory period (``refractory``);
- the subtractive reset ``V <- V - V_th`` (NIR resets to ``v_reset = 0``);
- the lower bound ``V >= -V_th`` (NIR has none).

The export writes the plain LIF graph, keeps these four in the metadata of each
LIF node (keys ``spikeclf_*``, which other tools ignore), and warns with
:class:`NIRExportWarning`: another simulator runs the network without them.
:func:`from_nir` reads them back, so a round trip through spikeclf is exact;
``from_nir(graph, extensions=False)`` simulates a fully connected graph as NIR
defines it, which is what the other tools see (the convolution kernels have
the paper's neuron only, so a CNN needs the metadata). ``docs/interop.md`` has
the accuracy of a trained model both ways.
"""

import dataclasses
import os
import warnings
from typing import NamedTuple

import numpy as np

from ._cnn import SpikingCNNClassifier
from ._mlp import SpikingMLPClassifier
from ._network import ConvNetwork, Network, parse_layers

__all__ = ["NIRExportWarning", "from_nir", "to_nir"]


class NIRExportWarning(UserWarning):
    """The exported graph leaves out neuron features NIR cannot express."""


def _import_nir():
    try:
        import nir
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "NIR export and import need the nir package: pip install 'spikeclf[nir]'"
        ) from error
    return nir


def to_nir(estimator, *, lateral_inhibition="metadata", unit_thresholds=False, dt=None):
    """Export a fitted spiking classifier as a NIR graph.

    Parameters
    ----------
    estimator : SpikingMLPClassifier or SpikingCNNClassifier
        Fitted.
    lateral_inhibition : {"metadata", "recurrent"}, default="metadata"
        How a winner-take-all layer is written. "metadata": a plain LIF layer,
        with its inhibition strength in the metadata only, so that other tools
        run it without inhibition. "recurrent": also a recurrent node from the
        layer to itself, ``w[j, i] = kappa * V_th[j]`` for ``i != j`` (a Linear
        node; in a convolution layer a 1x1 Conv2d, the feature maps at one
        position inhibiting each other), which in NIR's continuous time is the
        inhibition itself, without the refractoriness and the lower bound it
        brings in spikeclf; time-stepped tools deliver it one step late.
    unit_thresholds : bool, default=False
        Divide each neuron's input weights (each feature map's kernel) by its
        threshold and set the threshold to 1: the same network, spike for spike
        up to rounding (potentials, resets, lower bounds and lateral inhibition
        all scale with the threshold), in the form of importers that take one
        threshold per layer (snntorch, sinabs). Pooling neurons keep their
        threshold, already one per layer: SumPool2d has no weights to scale.
    dt : float, default=None
        None writes ``r = tau``: a spike is a pulse of unit area, NIR's
        continuous-time reading, under which it raises ``v`` by ``w``. A time
        step ``dt`` (seconds) writes ``r = tau / dt``: a spike is a pulse of
        height 1 lasting one step, the reading of snntorch's importer (which
        steps at 1e-4 s). Norse's importer expects ``r = 1`` and scales inputs
        by ``dt / tau`` itself.

    Returns
    -------
    graph : nir.NIRGraph
        Write it with ``nir.write(path, graph)``.

    Warns
    -----
    NIRExportWarning
        Naming the features of the network that NIR's LIF neuron lacks (see the
        module documentation); spikeclf reads them back from the metadata.

    Examples
    --------
    >>> import warnings
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> from spikeclf.nir import from_nir, to_nir
    >>> X, y = load_digits_events(return_X_y=True)
    >>> clf = SpikingMLPClassifier(hidden_layer_sizes=(20,), max_iter=1,
    ...                            random_state=0).fit(X[:100], y[:100])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     graph = to_nir(clf)
    >>> sorted(graph.nodes)
    ['input', 'lif_0', 'lif_1', 'linear_0', 'linear_1', 'output']
    >>> bool((from_nir(graph).predict(X[:20]) == clf.predict(X[:20])).all())
    True
    """
    nir = _import_nir()
    network = _fitted_network(estimator)
    if lateral_inhibition not in ("metadata", "recurrent"):
        raise ValueError(
            "lateral_inhibition must be 'metadata' or 'recurrent', got "
            f"{lateral_inhibition!r}"
        )
    recurrent = lateral_inhibition == "recurrent"
    out = _GraphWriter(nir, network, dt, recurrent)
    if isinstance(network, ConvNetwork):
        out.add("input", nir.Input(np.array(network.input_shape)))
        shape = _write_spatial(out, network, unit_thresholds)
        out.add("flatten", nir.Flatten({"input": np.array(shape)}, start_dim=0))
    else:
        out.add("input", nir.Input(np.array([network.sizes[0]])))
    _write_dense(out, network, unit_thresholds)
    out.add("output", nir.Output(np.array([network.sizes[-1]])))
    _warn_what_nir_leaves_out(network, recurrent)
    return nir.NIRGraph(
        nodes=out.nodes,
        edges=out.edges,
        metadata={
            "spikeclf_estimator": type(estimator).__name__,
            "spikeclf_classes": _storable_classes(estimator.classes_),
            "spikeclf_sensor_size": np.array(estimator.sensor_size_),
            "spikeclf_n_layers": len(_layer_kappas(network)),
            "spikeclf_dt": 0.0 if dt is None else float(dt),
        },
    )


class _GraphWriter:
    """Nodes and edges of a chain, each node fed by the one added before it."""

    def __init__(self, nir, network, dt, recurrent):
        self.nir, self.network, self.dt, self.recurrent = nir, network, dt, recurrent
        self.nodes, self.edges, self.last = {}, [], None

    def add(self, name, node):
        self.nodes[name] = node
        if self.last is not None:
            self.edges.append((self.last, name))
        self.last = name

    def add_lif(self, name, th, kappa, kind):
        """LIF neurons of thresholds ``th`` (their shape), spikeclf's in metadata."""
        th = np.array(th, dtype=np.float64)
        tau = np.full(th.shape, float(self.network.tau))
        reset, lower_bound = _neuron_of(self.network)
        self.add(
            name,
            self.nir.LIF(
                tau=tau,
                r=tau / (1.0 if self.dt is None else self.dt),
                v_leak=np.zeros(th.shape),
                v_threshold=th,
                v_reset=np.zeros(th.shape),
                metadata={
                    "spikeclf_kind": kind,
                    "spikeclf_lateral_inhibition": float(kappa),
                    "spikeclf_refractory": float(self.network.refractory),
                    "spikeclf_reset": reset,
                    "spikeclf_lower_bound": int(lower_bound),
                },
            ),
        )

    def add_loop(self, name, node):
        """A recurrent node from the last node added to itself."""
        self.nodes[name] = node
        self.edges += [(self.last, name), (name, self.last)]


def _write_spatial(out, network, unit_thresholds):
    """Conv2d -> LIF and SumPool2d -> LIF per spatial layer; the output shape."""
    nir, shape = out.nir, tuple(network.input_shape)
    spatial_layers = network.layer_dicts()[: len(network.spatial)]
    for i, (row, layer) in enumerate(zip(network.spatial, spatial_layers, strict=True)):
        _, _, height, width, c_out, size = (int(v) for v in row)
        if layer["type"] == "pool":
            pool = nir.SumPool2d(
                kernel_size=np.array([2, 2]),
                stride=np.array([2, 2]),
                padding=np.array([0, 0]),
            )
            out.add(f"pool_{i}", pool)
            shape = (c_out, height // 2, width // 2)
            out.add_lif(f"lif_pool_{i}", np.full(shape, layer["threshold"]), 0, "pool")
            continue
        kernel, th = layer["weights"], np.asarray(layer["thresholds"], float)
        if unit_thresholds:
            kernel, th = kernel / th[:, None, None, None], np.ones(c_out)
        out.add(f"conv_{i}", _conv2d(nir, kernel, (height, width)))
        shape = (c_out, height - size + 1, width - size + 1)
        th_map = np.broadcast_to(th[:, None, None], shape)
        out.add_lif(f"lif_conv_{i}", th_map, layer["kappa"], "conv")
        if out.recurrent and layer["kappa"] != 0:
            loop = _inhibition(layer["kappa"], th)[:, :, None, None]
            out.add_loop(f"inhibition_conv_{i}", _conv2d(nir, loop, shape[1:]))
    return shape


def _write_dense(out, network, unit_thresholds):
    """Linear -> LIF per fully connected layer."""
    for layer, (w, th, kappa) in enumerate(
        zip(network.weights, network.thresholds, network.kappa, strict=True)
    ):
        if unit_thresholds:
            w, th = w / th, np.ones(len(th))
        out.add(f"linear_{layer}", out.nir.Linear(np.ascontiguousarray(w.T)))
        out.add_lif(f"lif_{layer}", th, kappa, "dense")
        if out.recurrent and kappa != 0:
            out.add_loop(f"inhibition_{layer}", out.nir.Linear(_inhibition(kappa, th)))


def _conv2d(nir, weight, input_shape):
    return nir.Conv2d(
        input_shape=tuple(int(s) for s in input_shape),
        weight=np.ascontiguousarray(weight, dtype=np.float64),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(weight.shape[0]),
    )


def _inhibition(kappa, th):
    """Winner-take-all as a recurrent weight matrix: kappa V_th[j] off the diagonal."""
    th = np.asarray(th, dtype=np.float64)
    return kappa * th[:, None] * (1.0 - np.eye(len(th)))


def from_nir(graph, *, classes=None, sensor_size=None, extensions=True, dt=None):
    """Build a fitted spiking classifier from a NIR graph, for event-driven inference.

    Supported: a chain ``Input -> [Flatten] -> (Linear | Affine without bias)
    -> LIF -> ... -> Output`` of LIF neurons (a SpikingMLPClassifier), or
    ``Input (C, H, W) -> (Conv2d -> LIF | SumPool2d -> LIF) ... -> Flatten ->
    (Linear | Affine without bias) -> LIF ... -> Output`` (a
    SpikingCNNClassifier: convolutions of stride 1 without padding, dilation,
    groups or bias, one threshold per feature map; 2x2 sum pooling of stride
    2, one threshold per pooling layer and the same for all of them). Each LIF
    layer may have a recurrent Linear (or, in a convolution, 1x1 Conv2d) node
    that is winner-take-all inhibition (see :func:`to_nir`). ``v_leak = 0``,
    one time constant for the whole network and, without spikeclf's metadata,
    ``v_reset = 0``, which only the fully connected network can simulate.

    Parameters
    ----------
    graph : nir.NIRGraph or str or path-like
        The graph, or a ``.nir`` file (read with ``nir.read``).
    classes : array-like, default=None
        Labels of the output neurons; None means the labels an exported
        spikeclf model stored, else ``0 .. n_outputs - 1``.
    sensor_size : tuple of int, default=None
        ``(width, height, polarities)``; None means the size a spikeclf export
        stored, else from the Input node's shape ``(polarities, height, width)``
        (followed by a Flatten node or convolutions), or ``(n_inputs, 1, 1)``
        for a flat input.
    extensions : bool, default=True
        Whether to read spikeclf's neuron features (lateral inhibition,
        refractory period, subtractive reset, lower bound) from the LIF nodes'
        metadata where present. False simulates the graph as NIR defines it.
    dt : float, default=None
        The time step of ``r = tau / dt`` (see :func:`to_nir`): input weights
        are scaled by ``r dt / tau``. None means the step a spikeclf export
        stored, else 1 (``r = tau``: a spike raises ``v`` by ``w``).

    Returns
    -------
    estimator : SpikingMLPClassifier or SpikingCNNClassifier
        Fitted: predict, predict_proba, score, synaptic_operations. It can be
        trained further only with the paper's neuron (a spikeclf export read
        with ``extensions=True``).

    Raises
    ------
    ValueError
        Naming the node or parameter spikeclf cannot simulate.
    """
    nir = _import_nir()
    if isinstance(graph, str | os.PathLike):
        graph = nir.read(graph)
    metadata = graph.metadata or {}
    if dt is None:  # a spikeclf export stores its dt, 0 for none
        dt = float(metadata.get("spikeclf_dt", 0.0)) or 1.0
    input_shape, spatial, dense = _chain_of(graph, nir)
    spatial, shape = _read_layers(spatial, input_shape, extensions, dt, nir)
    dense, _ = _read_layers(dense, (int(np.prod(shape)),), extensions, dt, nir)
    neuron = _shared_neuron(spatial + dense)
    if sensor_size is None:
        sensor_size = metadata.get("spikeclf_sensor_size")
    sensor_size = _sensor_size_of(input_shape, sensor_size)
    classes = _classes_of(graph, classes, dense[-1].th.size)
    if spatial:
        return _cnn_of(spatial, dense, neuron, input_shape, classes, sensor_size)
    return _mlp_of(dense, neuron, classes, sensor_size)


class _Layer(NamedTuple):
    """One imported layer in spikeclf's units (weights scaled by r dt / tau)."""

    kind: str  # "conv", "pool" or "dense"
    weight: np.ndarray | None  # (C_in, K, K, C_out), None or (n_in, n_out)
    th: np.ndarray  # one per feature map, or per neuron
    tau: float
    kappa: float
    refractory: float
    reset: str
    lower_bound: bool


def _read_layers(chain, shape, extensions, dt, nir):
    """The layers of a chain fed inputs of ``shape``, and the shape of its output."""
    layers = []
    for synapse, neuron, loop in chain:
        kind, weight, shape = _read_synapse(*synapse, shape, nir)
        th, tau, scale = _check_lif(*neuron, shape, nir)
        weight, th, scale = _in_spikeclf_units(kind, neuron[0], weight, th, scale * dt)
        features = _neuron_features(*neuron, loop, th, scale, extensions, nir)
        layers.append(_Layer(kind, weight, th, tau, *features))
    return layers, shape


def _read_synapse(name, node, shape, nir):
    """Kind, weight as NIR writes it and output shape of a layer's synapses."""
    if len(shape) == 1:
        weight = _check_linear(name, node, nir, shape[0])
        return "dense", weight, (weight.shape[0],)
    if isinstance(node, nir.Conv2d):
        weight = _check_conv(name, node, shape)
        c_out, _, size, _ = weight.shape
        return "conv", weight, (c_out, shape[1] - size + 1, shape[2] - size + 1)
    if isinstance(node, nir.SumPool2d):
        _check_pool(name, node, shape)
        return "pool", None, (shape[0], shape[1] // 2, shape[2] // 2)
    raise ValueError(
        f"node {name!r} is a {type(node).__name__}: before the Flatten node spikeclf "
        "imports Conv2d and SumPool2d layers followed by LIF neurons"
    )


def _in_spikeclf_units(kind, name, weight, th, scale):
    """Weights with the input scale ``r dt / tau`` folded in, in spikeclf's layout,
    and thresholds and scales per feature map in a spatial layer."""
    if kind == "dense":
        return np.ascontiguousarray((weight * scale[:, None]).T), th, scale
    th, scale = _per_map(name, th, "v_threshold"), _per_map(name, scale, "r / tau")
    if kind == "conv":
        return np.ascontiguousarray(weight.transpose(1, 2, 3, 0) * scale), th, scale
    th = th / scale  # pooling: weights 1, so the scale goes into the threshold
    if np.any(th != th[0]):
        raise ValueError(
            f"node {name!r}: v_threshold * tau / r differs between feature maps "
            f"({np.unique(th)[:5]}): spikeclf's pooling layers have one threshold"
        )
    return None, th, np.ones_like(th)


def _per_map(name, values, what):
    """The value of each feature map of a (C, H, W) array, or raise."""
    maps = values.reshape(len(values), -1)
    differ = np.flatnonzero(np.any(maps != maps[:, :1], axis=1))
    if differ.size:
        raise ValueError(
            f"node {name!r}: {what} differs within feature map {differ[0]}: "
            "spikeclf's convolution and pooling layers have one per feature map"
        )
    return maps[:, 0].copy()


def _mlp_of(dense, neuron, classes, sensor_size):
    network = Network(
        [layer.weight for layer in dense],
        [layer.th for layer in dense],
        th_min=[],
        kappa=np.array([layer.kappa for layer in dense]),
        **neuron,
    )
    estimator = SpikingMLPClassifier(
        hidden_layer_sizes=tuple(network.sizes[1:-1]),
        lateral_inhibition=tuple(float(k) for k in network.kappa),
        tau=float(network.tau),
        refractory=float(network.refractory),
        sensor_size=sensor_size,
    )
    estimator._adopt(network, classes, sensor_size)
    # The threshold lower bound of further training, as fit would set it.
    network.th_min = [
        np.full_like(layer.th, estimator.threshold_min * th0)
        for layer, th0 in zip(dense, estimator._initial_thresholds, strict=True)
    ]
    return estimator


def _cnn_of(spatial, dense, neuron, input_shape, classes, sensor_size):
    pool_threshold = _check_cnn(spatial, neuron, input_shape, sensor_size)
    layers = _layers_spec(spatial, dense)
    trained = [ly for ly in spatial + dense if ly.kind != "pool"]
    kappa = tuple(float(ly.kappa) for ly in trained)
    estimator = SpikingCNNClassifier(
        layers,
        lateral_inhibition=kappa,
        tau=float(neuron["tau"]),
        refractory=float(neuron["refractory"]),
        pool_threshold=pool_threshold,
        sensor_size=sensor_size,
    )
    # Built as fit would build it, for the threshold lower bounds of training.
    template = ConvNetwork.initialize(
        input_shape,
        parse_layers(layers),
        len(classes),
        estimator._hidden_and_output(estimator.alpha, len(trained), "alpha"),
        kappa,
        estimator.tau,
        estimator.refractory,
        estimator.threshold_min,
        pool_threshold,
        np.random.RandomState(0),
    )
    network = dataclasses.replace(
        template,
        kernels=[ly.weight for ly in spatial],
        spatial_thresholds=[ly.th for ly in spatial],
        weights=[ly.weight for ly in dense],
        thresholds=[ly.th for ly in dense],
    )
    estimator._adopt(network, classes, sensor_size)
    return estimator


def _layers_spec(spatial, dense):
    """The ``layers`` string of a SpikingCNNClassifier, such as "20c5-p2-200"."""
    parts = [
        f"{ly.th.size}c{ly.weight.shape[1]}" if ly.kind == "conv" else "p2"
        for ly in spatial
    ]
    return "-".join(parts + [str(ly.th.size) for ly in dense[:-1]])


def _check_cnn(spatial, neuron, input_shape, sensor_size):
    """What the convolution kernels need; returns the threshold of the pooling."""
    if neuron["reset"] != "subtract" or not neuron["lower_bound"]:
        raise ValueError(
            f"the LIF nodes have reset {neuron['reset']!r} and lower bound "
            f"{neuron['lower_bound']} (NIR's LIF: a graph without spikeclf's "
            "metadata, or read with extensions=False); "
            "spikeclf's convolution layers simulate the paper's neuron only "
            "(subtractive reset, lower bound -V_th)"
        )
    if any(ly.kind == "pool" and ly.kappa != 0 for ly in spatial):
        raise ValueError("spikeclf's pooling layers have no lateral inhibition")
    channels, height, width = input_shape
    if sensor_size != (width, height, channels):
        raise ValueError(
            f"sensor_size {sensor_size}: a convolutional network with input "
            f"{input_shape} needs (width, height, polarities) = "
            f"{(width, height, channels)}"
        )
    pools = sorted({float(ly.th[0]) for ly in spatial if ly.kind == "pool"})
    if len(pools) > 1:
        raise ValueError(
            f"the pooling layers have thresholds {pools}: spikeclf's CNN has one "
            "pool_threshold"
        )
    return pools[0] if pools else 0.8


def _fitted_network(estimator):
    if not isinstance(estimator, SpikingMLPClassifier | SpikingCNNClassifier):
        raise TypeError(
            "to_nir exports a SpikingMLPClassifier or a SpikingCNNClassifier, got "
            f"{type(estimator).__name__}"
        )
    if not hasattr(estimator, "network_"):
        raise ValueError(
            f"this {type(estimator).__name__} is not fitted yet: call fit first"
        )
    # With parameter averaging, the averaged network is the one that predicts.
    return estimator._prediction_network


def _neuron_of(network):
    """Reset and lower bound; the convolution kernels have the paper's neuron only."""
    return getattr(network, "reset", "subtract"), getattr(network, "lower_bound", True)


def _layer_kappas(network):
    """Lateral inhibition of every layer, spatial (pooling: 0) then dense."""
    return [*getattr(network, "spatial_kappa", []), *network.kappa]


def _warn_what_nir_leaves_out(network, recurrent):
    missing = []
    wta = [layer for layer, k in enumerate(_layer_kappas(network)) if k != 0]
    reset, lower_bound = _neuron_of(network)
    if wta and recurrent:
        missing.append(f"the refractoriness after lateral inhibition (layers {wta})")
    elif wta:
        missing.append(f"winner-take-all lateral inhibition (layers {wta})")
    if network.refractory > 0:
        missing.append(f"the refractory period ({network.refractory:g} s)")
    if reset == "subtract":
        missing.append("the subtractive reset (NIR resets to 0)")
    if lower_bound:
        missing.append("the lower bound -V_th of the potentials")
    if missing:
        warnings.warn(
            "NIR's LIF neuron cannot express "
            + "; ".join(missing)
            + ". They are kept in the metadata of the LIF nodes, which spikeclf's "
            "from_nir reads back; other simulators run the network without them.",
            NIRExportWarning,
            stacklevel=3,
        )


def _storable_classes(classes):
    """Labels as HDF5 can store them: numbers as they are, others as UTF-8 bytes."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biuf":
        return classes
    return np.array([str(c).encode() for c in classes])


def _chain_of(graph, nir):
    """Input shape, and the layers before and after the Flatten node.

    Each layer is (synapse, LIF, loop): (name, node) pairs, loop the recurrent
    node of the LIF or None.
    """
    successors = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    recurrent = _recurrent_loops(graph, successors, nir)
    for lif, loop in recurrent.items():
        successors[lif].remove(loop)
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"the graph needs exactly one Input node, got {len(inputs)}")
    input_shape = tuple(int(s) for s in graph.nodes[inputs[0]].input_type["input"])
    names = _walk(graph, successors, inputs[0], nir)
    flat = [i for i, n in enumerate(names) if isinstance(graph.nodes[n], nir.Flatten)]
    spatial, dense = (names[: flat[0]], names[flat[0] + 1 :]) if flat else ([], names)
    if not flat and len(input_shape) != 1:
        raise ValueError(
            f"the Input node has shape {input_shape}: a multi-dimensional input "
            "needs a Flatten node after it"
        )
    if spatial and len(input_shape) != 3:
        raise ValueError(
            f"the Input node has shape {input_shape}: convolutions need "
            "(channels, height, width)"
        )
    if len(flat) > 1 or not dense or len(dense) % 2 or len(spatial) % 2:
        raise ValueError(
            "spikeclf imports chains of (Conv2d or SumPool2d, LIF) pairs, a Flatten, "
            "then (Linear or Affine, LIF) pairs, got nodes "
            + ", ".join(f"{n} ({type(graph.nodes[n]).__name__})" for n in names)
        )

    def layers(part):
        named = [(n, graph.nodes[n]) for n in part]
        loops = [recurrent.get(n) for n in part[1::2]]
        loops = [None if n is None else (n, graph.nodes[n]) for n in loops]
        return list(zip(named[::2], named[1::2], loops, strict=True))

    return input_shape, layers(spatial), layers(dense)


def _walk(graph, successors, name, nir):
    """The names of the nodes from ``name`` to the Output node, both left out."""
    names = []
    while True:
        following = successors.get(name, [])
        if len(following) != 1:
            raise ValueError(
                f"node {name!r} feeds {len(following)} nodes: spikeclf imports "
                "feed-forward chains only"
            )
        name = following[0]
        if isinstance(graph.nodes[name], nir.Output):
            return names
        if name in names:
            raise ValueError(f"the graph has a cycle through node {name!r}")
        names.append(name)


def _recurrent_loops(graph, successors, nir):
    """LIF -> Linear or Conv2d -> same LIF loops: {LIF name: loop name}."""
    loops = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.LIF):
            continue
        for target in successors.get(name, []):
            if successors.get(target) == [name] and isinstance(
                graph.nodes[target], nir.Linear | nir.Conv2d
            ):
                loops[name] = target
    return loops


def _kappa_of_loop(name, node, th, scale, nir):
    """The winner-take-all strength a recurrent node stands for, or raise.

    spikeclf's inhibition: a spike of neuron (or feature map) i adds
    kappa * V_th[j] to every other j, i.e. w[j, i] * scale[j] = kappa * th[j]
    off the diagonal.
    """
    w = _loop_matrix(name, node, nir)
    n = len(th)
    if w.shape != (n, n) or np.any(np.diag(w) != 0):
        raise ValueError(
            f"node {name!r}: spikeclf simulates a recurrent connection only as "
            "winner-take-all inhibition (square, zero diagonal)"
        )
    if n == 1:
        return 0.0
    relative = (w * scale[:, None] / th[:, None])[~np.eye(n, dtype=bool)]
    kappa = float(relative.mean())
    if not (np.allclose(relative, kappa, rtol=1e-9, atol=0) and -1 <= kappa <= 0):
        raise ValueError(
            f"node {name!r}: spikeclf simulates a recurrent connection only as "
            "winner-take-all inhibition, w[j, i] = kappa * v_threshold[j] with one "
            "kappa in [-1, 0] for the layer"
        )
    return kappa


def _loop_matrix(name, node, nir):
    """The (n, n) weights of a recurrent Linear, or of a 1x1 Conv2d across maps."""
    w = np.asarray(node.weight, dtype=np.float64)
    if not isinstance(node, nir.Conv2d):
        return w
    _check_conv_options(name, node)
    if w.ndim != 4 or w.shape[2:] != (1, 1):
        raise ValueError(
            f"node {name!r}: spikeclf simulates a recurrent convolution only as "
            "winner-take-all inhibition between feature maps, a 1x1 kernel"
        )
    return w[:, :, 0, 0]


def _check_linear(name, node, nir, n_in):
    if isinstance(node, nir.Affine):
        _check_no_bias(name, node, "an Affine")
    elif not isinstance(node, nir.Linear):
        raise ValueError(
            f"node {name!r} is a {type(node).__name__}: spikeclf imports Linear and "
            "Affine layers followed by LIF neurons (after a Flatten node)"
        )
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 2 or weight.shape[1] != n_in:
        raise ValueError(
            f"node {name!r}: weight of shape {weight.shape}, expected (n_out, {n_in})"
        )
    return _finite(name, weight)


def _check_conv(name, node, shape):
    """The weight (C_out, C_in, K, K) of a Conv2d node spikeclf simulates, or raise."""
    weight = np.asarray(node.weight, dtype=np.float64)
    c_in, height, width = shape
    square = weight.ndim == 4 and weight.shape[2] == weight.shape[3]
    if not square or weight.shape[1] != c_in or 0 in weight.shape:
        raise ValueError(
            f"node {name!r}: weight of shape {weight.shape}, expected "
            f"(C_out, {c_in}, K, K), a square kernel"
        )
    if weight.shape[2] > min(height, width):
        raise ValueError(
            f"node {name!r}: a {weight.shape[2]}x{weight.shape[2]} kernel on a "
            f"{height}x{width} input"
        )
    given = None if node.input_shape is None else tuple(np.ravel(node.input_shape))
    if given not in (None, (height, width)):
        raise ValueError(
            f"node {name!r}: input_shape {given}, but the layer before gives "
            f"{height}x{width}"
        )
    _check_conv_options(name, node)
    _check_no_bias(name, node, "a convolution")
    return _finite(name, weight)


def _check_conv_options(name, node):
    padding = node.padding
    if isinstance(padding, str) and padding == "valid":
        padding = 0
    for option, value, expected in (
        ("stride", node.stride, 1),
        ("padding", padding, 0),
        ("dilation", node.dilation, 1),
        ("groups", node.groups, 1),
    ):
        if isinstance(value, str) or np.any(np.asarray(value) != expected):
            raise ValueError(
                f"node {name!r}: {option} {value!r}; spikeclf's convolutions have "
                "stride 1, padding 0, dilation 1 and groups 1"
            )


def _check_pool(name, node, shape):
    for option, expected in (("kernel_size", 2), ("stride", 2), ("padding", 0)):
        value = getattr(node, option)
        if isinstance(value, str) or np.any(np.asarray(value) != expected):
            raise ValueError(
                f"node {name!r}: {option} {value!r}; spikeclf pools 2x2 windows "
                "with stride 2 and no padding"
            )
    if min(shape[1:]) < 2:
        raise ValueError(f"node {name!r}: a 2x2 pooling on a {shape[1:]} input")


def _check_no_bias(name, node, what):
    if node.bias is not None and np.any(np.asarray(node.bias) != 0):
        raise ValueError(
            f"node {name!r}: {what} bias is a constant current, which an "
            "event-driven simulation without time steps cannot integrate"
        )


def _finite(name, weight):
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"node {name!r}: weights hold NaN or infinite values")
    return weight


def _check_lif(name, node, shape, nir):
    """Thresholds, time constant and input scale r / tau of a LIF node."""
    if not isinstance(node, nir.LIF):
        raise ValueError(
            f"node {name!r} is a {type(node).__name__}: spikeclf simulates LIF "
            "neurons only"
        )
    try:
        tau, r, v_leak, th = (
            np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
            for value in (node.tau, node.r, node.v_leak, node.v_threshold)
        )
    except ValueError as error:
        raise ValueError(
            f"node {name!r}: parameters of shape {np.shape(node.v_threshold)}, "
            f"expected {shape}, the output of the layer before"
        ) from error
    if np.any(v_leak != 0):
        raise ValueError(f"node {name!r}: spikeclf's neurons leak to 0, not v_leak")
    first = tau.flat[0]
    if not (np.all(tau == first) and np.isfinite(first) and first > 0):
        raise ValueError(
            f"node {name!r}: needs one positive, finite tau for the layer, got "
            f"{np.unique(tau)[:5]}"
        )
    if not np.all((r > 0) & np.isfinite(r)):
        raise ValueError(f"node {name!r}: r must be positive and finite")
    if not np.all((th > 0) & np.isfinite(th)):
        raise ValueError(f"node {name!r}: v_threshold must be positive and finite")
    return np.array(th), float(first), r / tau


def _neuron_features(name, node, loop, th, scale, extensions, nir):
    """Lateral inhibition, refractory period, reset and lower bound of one layer.

    The inhibition of a recurrent loop, unless spikeclf's exact value is in the
    metadata.
    """
    meta = (node.metadata or {}) if extensions else {}
    kappa = float(meta.get("spikeclf_lateral_inhibition", 0.0))
    if loop is not None:
        kappa_of_loop = _kappa_of_loop(*loop, th, scale, nir)
        if "spikeclf_lateral_inhibition" not in meta:
            kappa = kappa_of_loop
    refractory = float(meta.get("spikeclf_refractory", 0.0))
    reset = meta.get("spikeclf_reset", "zero")
    reset = reset.decode() if isinstance(reset, bytes) else str(reset)
    if reset == "zero" and np.any(np.asarray(node.v_reset) != 0):
        raise ValueError(f"node {name!r}: spikeclf's neurons reset to 0, not v_reset")
    lower_bound = bool(meta.get("spikeclf_lower_bound", False))
    return kappa, refractory, reset, lower_bound


def _shared_neuron(layers):
    """tau, refractory period, reset and lower bound: one for the whole network."""
    taus = [layer.tau for layer in layers]
    if len(set(taus)) != 1:
        raise ValueError(
            f"the LIF layers have time constants {taus}: spikeclf needs one tau "
            "for the whole network"
        )
    for field, name in (
        ("refractory", "refractory period"),
        ("reset", "reset"),
        ("lower_bound", "lower bound"),
    ):
        values = tuple(getattr(layer, field) for layer in layers)
        if len(set(values)) != 1:
            raise ValueError(
                f"the LIF layers differ in their {name} {values}: spikeclf needs "
                "one for the whole network"
            )
    first = layers[0]
    return {
        "tau": first.tau,
        "refractory": first.refractory,
        "reset": first.reset,
        "lower_bound": first.lower_bound,
    }


def _sensor_size_of(input_shape, sensor_size):
    if sensor_size is not None:
        sensor_size = tuple(int(s) for s in sensor_size)
        if len(sensor_size) != 3 or np.prod(sensor_size) != np.prod(input_shape):
            raise ValueError(
                f"sensor_size {sensor_size} does not have the {np.prod(input_shape)} "
                "channels of the graph's input"
            )
        return sensor_size
    if len(input_shape) == 3:
        polarities, height, width = input_shape
        return width, height, polarities
    return int(np.prod(input_shape)), 1, 1


def _classes_of(graph, classes, n_out):
    if classes is None:
        classes = (graph.metadata or {}).get("spikeclf_classes")
    if classes is None:
        return np.arange(n_out)
    classes = np.asarray(classes)
    if classes.dtype.kind == "S":
        classes = np.array([c.decode() for c in classes])
    if classes.shape != (n_out,):
        raise ValueError(
            f"classes has {classes.size} labels, the graph has {n_out} outputs"
        )
    return classes
