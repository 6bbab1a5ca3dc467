"""Speed-up of prediction and of a grid search from n_jobs=1 to n_jobs=2.

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
import time

import numpy as np
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from spikeclf import PoissonEncoder, SpikingMLPClassifier, load_mnist
from spikeclf.events import check_events


def seconds(run):
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def main(argv=None):
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
