"""Speed-up of prediction and of a grid search from n_jobs=1 to n_jobs=2.

A 784-800-10 network (one epoch on 3,000 MNIST digits at 50 ms) simulates 2,000
test digits at 1 s: the kernel alone (threads over samples) and ``predict``
(plus validation and packing, single-threaded); then a GridSearchCV of 4
lateral-inhibition strengths x 2 folds with joblib's default backend, fits the
size of a real search by default (784-800-10, 2 epochs on 10,000 digits at
50 ms: seconds a fit); ``--grid-samples 3000 --grid-hidden 200`` gives fits of
a few tenths of a second, where starting workers and sending the data cost
more than the fits. Each pair runs twice, alternating, to show the machine's
noise. Predictions must be identical::

    python benchmarks/parallel_scaling.py --data-home ../shared/data
"""

import argparse
import time

import numpy as np
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
    )
    reference = None
    for repeat in range(2):
        for n_jobs in (1, 2):
            _, simulate_s = seconds(
                lambda n_jobs=n_jobs: clf.network_.simulate(packed, n_jobs=n_jobs)
            )
            clf.set_params(n_jobs=n_jobs)
            predicted, predict_s = seconds(lambda: clf.predict(test))
            reference = predicted if reference is None else reference
            assert np.array_equal(predicted, reference)
            search.set_params(n_jobs=n_jobs)
            _, search_s = seconds(lambda: search.fit(grid_train, y[:n_grid]))
            print(
                f"run {repeat + 1}, n_jobs={n_jobs}: simulate {simulate_s:.2f} s, "
                f"predict {predict_s:.2f} s, grid search {search_s:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
