"""Export to and import from the Neuromorphic Intermediate Representation (NIR).

A fitted :class:`~spikeclf.SpikingMLPClassifier` becomes the graph
``Input -> Linear -> LIF -> Linear -> LIF ... -> Output``, which snntorch, norse,
sinabs and Lava import. The input is flat, channel ``x + width * (y + height *
p)`` as spikeclf packs events (the sensor size is in the graph's metadata): the
importers disagree on whether NIR's Flatten counts a batch dimension. NIR's LIF neuron
is ``tau dv/dt = (v_leak - v) + r I``: with ``v_leak = 0`` and ``r = tau`` an
input spike through weight ``w`` raises ``v`` by ``w``, as in spikeclf.

What NIR's LIF cannot express, and spikeclf's neuron has (paper section 2.1):

- winner-take-all lateral inhibition (``lateral_inhibition``);
- the dynamic-weight refractory period (``refractory``);
- the subtractive reset ``V <- V - V_th`` (NIR resets to ``v_reset = 0``);
- the lower bound ``V >= -V_th`` (NIR has none).

The export writes the plain LIF graph, keeps these four in the metadata of each
LIF node (keys ``spikeclf_*``, which other tools ignore), and warns with
:class:`NIRExportWarning`: another simulator runs the network without them.
:func:`from_nir` reads them back, so a round trip through spikeclf is exact;
``from_nir(graph, extensions=False)`` simulates the graph as NIR defines it,
which is what the other tools see. ``docs/interop.md`` has the accuracy of a
trained model both ways.
"""

import os
import warnings

import numpy as np

from ._mlp import SpikingMLPClassifier
from ._network import Network

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
    estimator : SpikingMLPClassifier
        Fitted.
    lateral_inhibition : {"metadata", "recurrent"}, default="metadata"
        How a winner-take-all layer is written. "metadata": a plain LIF layer,
        with its inhibition strength in the metadata only, so that other tools
        run it without inhibition. "recurrent": also a recurrent Linear node
        from the layer to itself, ``w[j, i] = kappa * V_th[j]`` for ``i != j``,
        which in NIR's continuous time is the inhibition itself, without the
        refractoriness and the lower bound it brings in spikeclf; time-stepped
        tools deliver it one step late.
    unit_thresholds : bool, default=False
        Divide each neuron's input weights by its threshold and set every
        threshold to 1: the same network, spike for spike up to rounding
        (potentials, resets, lower bounds and lateral inhibition all scale with
        the threshold), in the form of importers that take one threshold per
        layer (snntorch, sinabs).
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
    nodes = {"input": nir.Input(np.array([network.sizes[0]]))}
    edges = []
    previous = "input"
    n_layers = len(network.weights)
    for layer, (w, th, kappa) in enumerate(
        zip(network.weights, network.thresholds, network.kappa, strict=True)
    ):
        n = w.shape[1]
        tau = np.full(n, float(network.tau))
        if unit_thresholds:
            w, th = w / th, np.ones(n)
        nodes[f"linear_{layer}"] = nir.Linear(np.ascontiguousarray(w.T))
        nodes[f"lif_{layer}"] = nir.LIF(
            tau=tau,
            r=tau / (1.0 if dt is None else dt),
            v_leak=np.zeros(n),
            v_threshold=np.array(th, dtype=np.float64),
            v_reset=np.zeros(n),
            metadata={
                "spikeclf_lateral_inhibition": float(kappa),
                "spikeclf_refractory": float(network.refractory),
                "spikeclf_reset": network.reset,
                "spikeclf_lower_bound": int(network.lower_bound),
            },
        )
        edges += [(previous, f"linear_{layer}"), (f"linear_{layer}", f"lif_{layer}")]
        if lateral_inhibition == "recurrent" and kappa != 0:
            inhibition = (
                kappa * np.asarray(th, dtype=np.float64)[:, None] * (1.0 - np.eye(n))
            )
            nodes[f"inhibition_{layer}"] = nir.Linear(inhibition)
            edges += [
                (f"lif_{layer}", f"inhibition_{layer}"),
                (f"inhibition_{layer}", f"lif_{layer}"),
            ]
        previous = f"lif_{layer}"
    nodes["output"] = nir.Output(np.array([network.sizes[-1]]))
    edges.append((previous, "output"))
    _warn_what_nir_leaves_out(network, lateral_inhibition == "recurrent")
    return nir.NIRGraph(
        nodes=nodes,
        edges=edges,
        metadata={
            "spikeclf_estimator": type(estimator).__name__,
            "spikeclf_classes": _storable_classes(estimator.classes_),
            "spikeclf_sensor_size": np.array(estimator.sensor_size_),
            "spikeclf_n_layers": n_layers,
            "spikeclf_dt": 0.0 if dt is None else float(dt),
        },
    )


def from_nir(graph, *, classes=None, sensor_size=None, extensions=True, dt=None):
    """Build a fitted spiking classifier from a NIR graph, for event-driven inference.

    Supported: a chain ``Input -> [Flatten] -> (Linear | Affine without bias)
    -> LIF -> ... -> Output`` of LIF neurons, each LIF layer with or without a
    recurrent Linear node that is winner-take-all inhibition (see
    :func:`to_nir`), with ``v_leak = 0``, one time
    constant for the whole network and, without spikeclf's metadata,
    ``v_reset = 0``.

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
        (followed by a Flatten node), or ``(n_inputs, 1, 1)`` for a flat input.
    extensions : bool, default=True
        Whether to read spikeclf's neuron features (lateral inhibition,
        refractory period, subtractive reset, lower bound) from the LIF nodes'
        metadata where present. False simulates the graph as NIR defines it.

    Returns
    -------
    estimator : SpikingMLPClassifier
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
    if dt is None:  # a spikeclf export stores its dt, 0 for none
        dt = float((graph.metadata or {}).get("spikeclf_dt", 0.0)) or 1.0
    input_shape, chain, loops = _chain_of(graph, nir)
    weights, thresholds, taus, features = _read_layers(
        chain, loops, int(np.prod(input_shape)), extensions, dt, nir
    )
    if len(set(taus)) != 1:
        raise ValueError(
            f"the LIF layers have time constants {taus}: spikeclf needs one tau "
            "for the whole network"
        )
    network = _network_of(weights, thresholds, taus[0], features)
    if sensor_size is None:
        sensor_size = (graph.metadata or {}).get("spikeclf_sensor_size")
    sensor_size = _sensor_size_of(input_shape, sensor_size)
    classes = _classes_of(graph, classes, network.sizes[-1])
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
        np.full_like(th, estimator.threshold_min * th0)
        for th, th0 in zip(thresholds, estimator._initial_thresholds, strict=True)
    ]
    return estimator


def _read_layers(chain, loops, n_in, extensions, dt, nir):
    """Weights (n_in, n_out), thresholds, tau and neuron features of each layer."""
    weights, thresholds, taus, features = [], [], [], []
    for ((name_w, linear), (name_lif, lif)), loop in zip(chain, loops, strict=True):
        weight = _check_linear(name_w, linear, nir, n_in)
        th, tau, scale = _check_lif(name_lif, lif, weight.shape[0], nir)
        weights.append(np.ascontiguousarray((weight * (scale * dt)[:, None]).T))
        thresholds.append(th)
        taus.append(tau)
        kappa, *rest = _neuron_features(name_lif, lif, extensions)
        if loop is not None:
            # The loop's value, unless spikeclf's exact one is in the metadata.
            kappa_of_loop = _kappa_of_loop(*loop, th, scale * dt)
            if not (extensions and "spikeclf_lateral_inhibition" in lif.metadata):
                kappa = kappa_of_loop
        features.append((kappa, *rest))
        n_in = weight.shape[0]
    return weights, thresholds, taus, features


def _fitted_network(estimator):
    if not isinstance(estimator, SpikingMLPClassifier):
        raise TypeError(
            f"to_nir exports a SpikingMLPClassifier, got {type(estimator).__name__}"
        )
    if not hasattr(estimator, "network_"):
        raise ValueError("this SpikingMLPClassifier is not fitted yet: call fit first")
    return estimator.network_


def _warn_what_nir_leaves_out(network, recurrent):
    missing = []
    wta = [layer for layer, k in enumerate(network.kappa) if k != 0]
    if wta and recurrent:
        missing.append(f"the refractoriness after lateral inhibition (layers {wta})")
    elif wta:
        missing.append(f"winner-take-all lateral inhibition (layers {wta})")
    if network.refractory > 0:
        missing.append(f"the refractory period ({network.refractory:g} s)")
    if network.reset == "subtract":
        missing.append("the subtractive reset (NIR resets to 0)")
    if network.lower_bound:
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
    """Input shape, the (linear, LIF) node pairs of a feed-forward chain, and the
    recurrent (name, Linear) node of each LIF that has one (else None)."""
    successors = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    recurrent = _recurrent_loops(graph, successors, nir)
    for lif, loop in recurrent.items():
        successors[lif].remove(loop)
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"the graph needs exactly one Input node, got {len(inputs)}")
    name = inputs[0]
    input_shape = tuple(int(s) for s in graph.nodes[name].input_type["input"])
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
            break
        if name in names:
            raise ValueError(f"the graph has a cycle through node {name!r}")
        names.append(name)
    if names and isinstance(graph.nodes[names[0]], nir.Flatten):
        names = names[1:]
    elif len(input_shape) != 1:
        raise ValueError(
            f"the Input node has shape {input_shape}: a multi-dimensional input "
            "needs a Flatten node after it"
        )
    if not names or len(names) % 2:
        raise ValueError(
            "spikeclf imports chains of (Linear or Affine, LIF) pairs, got nodes "
            + ", ".join(f"{n} ({type(graph.nodes[n]).__name__})" for n in names)
        )
    nodes = [(n, graph.nodes[n]) for n in names]
    loops = [
        (recurrent[n], graph.nodes[recurrent[n]]) if n in recurrent else None
        for n in names[1::2]
    ]
    return input_shape, list(zip(nodes[::2], nodes[1::2], strict=True)), loops


def _recurrent_loops(graph, successors, nir):
    """LIF -> Linear -> same LIF loops: {LIF name: Linear name}."""
    loops = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.LIF):
            continue
        for target in successors.get(name, []):
            if successors.get(target) == [name] and isinstance(
                graph.nodes[target], nir.Linear
            ):
                loops[name] = target
    return loops


def _kappa_of_loop(name, node, th, scale):
    """The winner-take-all strength a recurrent Linear node stands for, or raise.

    spikeclf's inhibition: a spike of neuron i adds kappa * V_th[j] to every
    other neuron j, i.e. w[j, i] * scale[j] = kappa * th[j] off the diagonal.
    """
    w = np.asarray(node.weight, dtype=np.float64)
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


def _check_linear(name, node, nir, n_in):
    if isinstance(node, nir.Affine):
        if np.any(np.asarray(node.bias) != 0):
            raise ValueError(
                f"node {name!r}: an Affine bias is a constant current, which an "
                "event-driven simulation without time steps cannot integrate"
            )
    elif not isinstance(node, nir.Linear):
        raise ValueError(
            f"node {name!r} is a {type(node).__name__}: spikeclf imports Linear and "
            "Affine layers followed by LIF neurons"
        )
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 2 or weight.shape[1] != n_in:
        raise ValueError(
            f"node {name!r}: weight of shape {weight.shape}, expected (n_out, {n_in})"
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"node {name!r}: weights hold NaN or infinite values")
    return weight


def _check_lif(name, node, n, nir):
    """Thresholds, time constant and input scale r / tau of a LIF node."""
    if not isinstance(node, nir.LIF):
        raise ValueError(
            f"node {name!r} is a {type(node).__name__}: spikeclf simulates LIF "
            "neurons only"
        )
    tau, r, v_leak, th = (
        np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))
        for value in (node.tau, node.r, node.v_leak, node.v_threshold)
    )
    if np.any(v_leak != 0):
        raise ValueError(f"node {name!r}: spikeclf's neurons leak to 0, not v_leak")
    if not (np.all(tau == tau[0]) and np.isfinite(tau[0]) and tau[0] > 0):
        raise ValueError(
            f"node {name!r}: needs one positive, finite tau for the layer, got "
            f"{np.unique(tau)[:5]}"
        )
    if not np.all((r > 0) & np.isfinite(r)):
        raise ValueError(f"node {name!r}: r must be positive and finite")
    if not np.all((th > 0) & np.isfinite(th)):
        raise ValueError(f"node {name!r}: v_threshold must be positive and finite")
    return np.array(th), float(tau[0]), r / tau


def _neuron_features(name, node, extensions):
    """Lateral inhibition, refractory period, reset and lower bound of one layer."""
    meta = node.metadata if extensions else {}
    kappa = float(meta.get("spikeclf_lateral_inhibition", 0.0))
    refractory = float(meta.get("spikeclf_refractory", 0.0))
    reset = meta.get("spikeclf_reset", "zero")
    reset = reset.decode() if isinstance(reset, bytes) else str(reset)
    if reset == "zero" and np.any(np.asarray(node.v_reset) != 0):
        raise ValueError(f"node {name!r}: spikeclf's neurons reset to 0, not v_reset")
    return kappa, refractory, reset, bool(meta.get("spikeclf_lower_bound", False))


def _network_of(weights, thresholds, tau, features):
    kappa, refractory, reset, lower_bound = zip(*features, strict=True)
    for name, values in (
        ("refractory period", refractory),
        ("reset", reset),
        ("lower bound", lower_bound),
    ):
        if len(set(values)) != 1:
            raise ValueError(
                f"the LIF layers differ in their {name} {values}: spikeclf needs "
                "one for the whole network"
            )
    return Network(
        weights,
        thresholds,
        th_min=[],
        kappa=np.array(kappa),
        tau=tau,
        refractory=refractory[0],
        reset=reset[0],
        lower_bound=lower_bound[0],
    )


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
