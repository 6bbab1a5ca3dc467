"""A spikeclf network exported to NIR, run by snntorch and norse: do the spikes agree?

Trains a 64-100-10 network on the built-in digits without refractory period
(which NIR cannot express), exports it with :func:`spikeclf.nir.to_nir`, its
lateral inhibition as recurrent connections (``--no-wta``: a network without
lateral inhibition, plain LIF layers), imports it in snntorch and norse, runs
the 1 s test streams there in time steps of ``--dt`` (events binned), and
compares their output spike counts and predictions with spikeclf's event-driven
simulation of the same graph as NIR defines it (``from_nir(extensions=False)``).

snntorch and norse need torch, which spikeclf never depends on: run this in a
separate environment::

    python -m venv peers && peers/bin/pip install torch snntorch norse nir
    PYTHONPATH=. peers/bin/python benchmarks/nir_peers.py   # spikeclf built in place

Each library reads NIR's ``r`` its own way; the script exports for each what
it expects (``to_nir(unit_thresholds=True, dt=1e-4)`` for snntorch, whose
importer takes one threshold per layer and steps at 1e-4 s; ``r = 1`` for
norse, which scales inputs by ``dt / tau`` and is given ``dt`` here).
"""

import argparse
import warnings

import numpy as np

from spikeclf import SpikingMLPClassifier, load_digits_events
from spikeclf.events import check_events
from spikeclf.nir import NIRExportWarning, from_nir, to_nir


def binned(X, sensor_size, dt, duration):
    """Events as a (steps, samples, channels) array of counts per time step."""
    packed = check_events(X, sensor_size)
    steps = int(round(duration / dt))
    frames = np.zeros((steps, packed.n_samples, packed.n_channels), np.float32)
    for i in range(packed.n_samples):
        channel, t = packed.sample(i)
        step = np.minimum((t * 1e-6 / dt).astype(np.int64), steps - 1)
        np.add.at(frames, (step, i, channel), 1.0)
    return frames


def snntorch_counts(clf, frames, dt, wta):
    import snntorch.utils
    import torch
    from snntorch.import_nir import import_from_nir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = to_nir(
            clf,
            unit_thresholds=True,
            dt=dt,
            lateral_inhibition="recurrent" if wta else "metadata",
        )
        net = import_from_nir(graph)
    snntorch.utils.reset(net)
    counts = 0
    with torch.no_grad():
        for frame in torch.from_numpy(frames):
            out = net(frame)
            counts = counts + (out[0] if isinstance(out, tuple) else out)
    return np.asarray(counts)


def norse_counts(clf, frames, dt, wta):
    import norse.torch as norse
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = to_nir(clf, lateral_inhibition="recurrent" if wta else "metadata")
        for name, node in graph.nodes.items():
            if name.startswith("lif"):
                node.r = np.ones_like(node.r)  # what norse expects
            if name.startswith(("linear", "inhibition")):
                # norse adds r * w * dt / tau per spike: scale w by tau / dt
                node.weight = node.weight * (clf.tau / dt)
        net = norse.from_nir(graph, dt=dt)
    counts, state = 0, None
    with torch.no_grad():
        for frame in torch.from_numpy(frames):
            out, state = net(frame, state)
            counts = counts + out
    return np.asarray(counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dt", type=float, default=1e-4)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--no-wta", dest="wta", action="store_false")
    args = parser.parse_args(argv)
    X, y = load_digits_events(return_X_y=True)
    X_test, _ = load_digits_events(duration=1.0, random_state=1, return_X_y=True)
    clf = SpikingMLPClassifier(
        hidden_layer_sizes=(100,),
        lateral_inhibition=None if args.wta else (0.0, 0.0),
        refractory=0.0,
        max_iter=10,
        random_state=0,
    ).fit(X[:1200], y[:1200])
    test = slice(1200, 1200 + args.samples)
    X_test, y_test = X_test[test], y[test]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRExportWarning)
        exported = to_nir(
            clf, lateral_inhibition="recurrent" if args.wta else "metadata"
        )
        reference = from_nir(exported, extensions=False)
    ours = reference._simulate(X_test).counts
    frames = binned(X_test, clf.sensor_size_, args.dt, 1.0)
    print(
        f"{'simulator':<28} {'accuracy':>8} {'same prediction':>16} "
        f"{'count difference':>17}"
    )
    print(f"{'spikeclf (paper neuron)':<28} {clf.score(X_test, y_test):>8.3f}")
    print(
        f"{'spikeclf (NIR semantics)':<28} "
        f"{np.mean(clf.classes_[ours.argmax(1)] == y_test):>8.3f}"
    )
    for name, run in (("snntorch", snntorch_counts), ("norse", norse_counts)):
        if name == "snntorch" and args.dt != 1e-4:
            print(f"{name:<28} skipped: its NIR importer steps at 1e-4 s only")
            continue
        try:
            counts = run(clf, frames, args.dt, args.wta)
        except Exception as error:  # report and go on: each peer is optional
            print(f"{name:<28} failed: {type(error).__name__}: {error}")
            continue
        counts = counts.reshape(ours.shape)
        print(
            f"{name + f' (dt {args.dt:g} s)':<28} "
            f"{np.mean(clf.classes_[counts.argmax(1)] == y_test):>8.3f} "
            f"{np.mean(counts.argmax(1) == ours.argmax(1)):>16.3f} "
            f"{np.abs(counts - ours).sum() / max(ours.sum(), 1):>16.1%}"
        )


if __name__ == "__main__":
    main()
