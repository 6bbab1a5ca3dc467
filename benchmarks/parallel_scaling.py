"""Speed-up of training, prediction and a grid search from n_jobs=1 to n_jobs=2.

``fit``: the epoch time of ``fit`` with n_jobs 1 and 2 at batch sizes 1, 4, 8
and 16, for 784-800-10 on PI-MNIST (50 ms presentations) and for the CNN
20c5-p2-50c5-p2-200 on MNIST, each configuration twice, alternating, with the
peak memory of each fit (each fit in a process of its own, its maximum
resident set), and the check that n_jobs does not change the weights::

    python benchmarks/parallel_scaling.py fit --data-home DIR

``predict`` (the default):

A 784-800-10 network (one epoch on 3,000 MNIST digits at 50 ms) simulates 2,000
test digits at 1 s: the kernel alone (threads over samples) and ``predict``
(plus validation and packing, single-threaded); then a GridSearchCV of 4
lateral-inhibition strengths x 2 folds (``refit=False``: the refit is one serial
fit), fits the size of a real search by default (784-800-10, 2 epochs on 10,000
digits at 50 ms: seconds a fit), with joblib's default process backend (loky)
and with threads (the kernels release the GIL, and threads share the data
where processes are sent all of it for every fit). ``--grid-samples 3000
--grid-hidden 200`` gives fits of a few tenths of a second. Each set runs
twice, alternating, to show the machine's noise. Predictions and scores must
be identical::

    python benchmarks/parallel_scaling.py --data-home ../shared/data
"""

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time

import numpy as np
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from spikeclf import (
    PoissonEncoder,
    SpikingCNNClassifier,
    SpikingMLPClassifier,
    load_mnist,
)
from spikeclf.events import check_events


def seconds(run):
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


FIT_NETWORKS = {
    "mlp": "784-800-10 on PI-MNIST",
    "cnn": "20c5-p2-50c5-p2-200 on MNIST",
}


def fit_once(network, n_samples, batch_size, n_jobs, data_home):
    """One epoch in this process: its seconds, peak memory and weights' digest."""
    X, y, _, _ = load_mnist(data_home, download=False)
    X, y = X[:n_samples], y[:n_samples]
    if network == "mlp":
        X = X.reshape(len(X), -1)[:, np.random.RandomState(0).permutation(784)]
        X = X.reshape(-1, 28, 28)
        clf = SpikingMLPClassifier((800,), output_loss="cross_entropy")
    else:
        clf = SpikingCNNClassifier("20c5-p2-50c5-p2-200", output_loss="cross_entropy")
    events = PoissonEncoder(duration=0.05, random_state=0).fit_transform(X)
    clf.set_params(
        max_iter=1, batch_size=batch_size, n_jobs=n_jobs, random_state=0,
        sensor_size=(28, 28, 1),
    )  # fmt: skip
    start = time.perf_counter()
    clf.fit(events, y)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(
        b"".join(p.tobytes() for p in clf.network_.parameters())
    ).hexdigest()[:16]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    return {"seconds": seconds, "peak_mib": peak, "digest": digest}


def fit_scaling(args):
    """Epoch times for n_jobs 1 and 2 at every batch size, in fresh processes."""
    for network in args.networks:
        n = args.mlp_samples if network == "mlp" else args.cnn_samples
        print(f"{FIT_NETWORKS[network]}, one epoch of {n} samples at 50 ms", flush=True)
        for batch_size in args.batch_sizes:
            runs = {1: [], 2: []}
            for _ in range(args.repeats):
                for n_jobs in (1, 2):
                    command = [
                        sys.executable, __file__, "fit-one", network, str(n),
                        str(batch_size), str(n_jobs),
                    ]  # fmt: skip
                    if args.data_home:
                        command += ["--data-home", args.data_home]
                    out = subprocess.run(command, check=True, capture_output=True)
                    runs[n_jobs].append(json.loads(out.stdout))
            digests = {r["digest"] for rs in runs.values() for r in rs}
            best = {j: min(r["seconds"] for r in rs) for j, rs in runs.items()}
            peak = {j: max(r["peak_mib"] for r in rs) for j, rs in runs.items()}
            times = ", ".join(
                f"n_jobs={j}: " + " ".join(f"{r['seconds']:.1f}" for r in rs) + " s"
                for j, rs in runs.items()
            )
            print(
                f"  batch {batch_size:2d}: {times}; speed-up {best[1] / best[2]:.2f}x; "
                f"peak memory {peak[2]:.0f} / {peak[1]:.0f} MiB = "
                f"{peak[2] / peak[1]:.2f}x; weights "
                + ("identical" if len(digests) == 1 else f"DIFFER {digests}"),
                flush=True,
            )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fit-one"]:
        network, n, batch_size, n_jobs = argv[1:5]
        home = argv[argv.index("--data-home") + 1] if "--data-home" in argv else None
        print(json.dumps(fit_once(network, int(n), int(batch_size), int(n_jobs), home)))
        return
    if argv[:1] == ["fit"]:
        parser = argparse.ArgumentParser(description="the epoch time of fit")
        parser.add_argument("--data-home", default=None)
        parser.add_argument("--networks", nargs="+", default=["mlp", "cnn"])
        parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16])
        parser.add_argument("--mlp-samples", type=int, default=10000)
        parser.add_argument("--cnn-samples", type=int, default=1000)
        parser.add_argument("--repeats", type=int, default=2)
        fit_scaling(parser.parse_args(argv[1:]))
        return
    if argv[:1] == ["predict"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--grid-samples", type=int, default=10000)
    parser.add_argument("--grid-hidden", type=int, default=800)
    parser.add_argument("--grid-epochs", type=int, default=2)
    args = parser.parse_args(argv)
    X, y, X_test, _ = load_mnist(args.data_home, download=False)
    train = PoissonEncoder(duration=0.05, random_state=0).fit_transform(X[:3000])
    test = PoissonEncoder(duration=1.0, random_state=1).fit(X).transform(X_test[:2000])
    clf = SpikingMLPClassifier((800,), max_iter=1, sensor_size=(28, 28, 1))
    clf.set_params(random_state=0).fit(train, y[:3000])
    packed = check_events(test, (28, 28, 1))
    n_grid = args.grid_samples
    grid_train = PoissonEncoder(duration=0.05, random_state=2).fit_transform(X[:n_grid])
    search = GridSearchCV(
        SpikingMLPClassifier(
            (args.grid_hidden,),
            max_iter=args.grid_epochs,
            sensor_size=(28, 28, 1),
            random_state=0,
        ),
        {"lateral_inhibition": [(-k, -1.0) for k in (0.2, 0.4, 0.6, 0.8)]},
        cv=2,
        refit=False,
    )
    reference, scores = None, None
    for repeat in range(2):
        for n_jobs in (1, 2):
            _, simulate_s = seconds(
                lambda n_jobs=n_jobs: clf.network_.simulate(packed, n_jobs=n_jobs)
            )
            clf.set_params(n_jobs=n_jobs)
            predicted, predict_s = seconds(lambda: clf.predict(test))
            reference = predicted if reference is None else reference
            assert np.array_equal(predicted, reference)
            searches = []
            for backend in ("loky", "threading") if n_jobs > 1 else ("loky",):
                with parallel_config(backend=backend):
                    search.set_params(n_jobs=n_jobs)
                    _, search_s = seconds(lambda: search.fit(grid_train, y[:n_grid]))
                found = search.cv_results_["mean_test_score"]
                scores = found if scores is None else scores
                assert np.array_equal(found, scores)
                searches.append(f"grid search ({backend}) {search_s:.2f} s")
            print(
                f"run {repeat + 1}, n_jobs={n_jobs}: simulate {simulate_s:.2f} s, "
                f"predict {predict_s:.2f} s, " + ", ".join(searches),
                flush=True,
            )


if __name__ == "__main__":
    main()
