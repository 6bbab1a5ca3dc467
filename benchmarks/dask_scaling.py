"""Speed-up of a grid search and of an evaluation from 1 to N Dask workers.

Runs the same GridSearchCV (lateral inhibition x hidden size, as the paper's
Figure 3, on the built-in digits events) and the same chunked prediction on a
``dask.distributed.LocalCluster`` of 1 worker and of N workers (processes, one
thread each), in one process run, checks that the results are identical, and
prints the times and the ratio. Give a scheduler address to run on an existing
cluster instead of the local ones::

    python benchmarks/dask_scaling.py                 # 1 against 2 local workers
    python benchmarks/dask_scaling.py --workers 4
    python benchmarks/dask_scaling.py --scheduler tcp://10.0.0.1:8786

Needs ``pip install 'spikeclf[dask]'``.
"""

import argparse
import time

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from spikeclf import SpikingMLPClassifier, load_digits_events
from spikeclf.events import as_object_array

GRID = {
    "hidden_layer_sizes": [(100,), (200,)],
    "lateral_inhibition": [(-0.2, -1.0), (-0.4, -1.0), (-0.8, -1.0)],
}
FOLDS = 3


def workload(X, y, X_test, epochs):
    search = GridSearchCV(
        SpikingMLPClassifier(max_iter=epochs, random_state=0), GRID, cv=FOLDS, n_jobs=-1
    )
    start = time.perf_counter()
    search.fit(X, y)
    fit_seconds = time.perf_counter() - start
    model = search.best_estimator_
    start = time.perf_counter()
    chunks = joblib.Parallel(n_jobs=-1)(
        joblib.delayed(model.predict)(X_test[i : i + 200])
        for i in range(0, len(X_test), 200)
    )
    predict_seconds = time.perf_counter() - start
    return (
        search.cv_results_["mean_test_score"],
        np.concatenate(chunks),
        (
            fit_seconds,
            predict_seconds,
        ),
    )


def run_on(client, X, y, X_test, epochs):
    with joblib.parallel_backend("dask"):
        return workload(X, y, X_test, epochs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler")
    args = parser.parse_args(argv)
    # 50 ms training presentations, 1 s test presentations, as the paper.
    X, y = load_digits_events(duration=0.05, return_X_y=True)
    X_test, _ = load_digits_events(duration=1.0, random_state=1, return_X_y=True)
    # Object arrays are sent to the workers once, lists with every task.
    X, X_test = as_object_array(X), as_object_array(X_test)
    n_fits = FOLDS * len(GRID["hidden_layer_sizes"]) * len(GRID["lateral_inhibition"])
    if args.scheduler:
        with Client(args.scheduler) as client:
            scores, _, (fit_s, predict_s) = run_on(client, X, y, X_test, args.epochs)
        print(
            f"grid search {fit_s:.1f} s, prediction {predict_s:.1f} s, "
            f"best mean score {scores.max():.4f}"
        )
        return
    results = {}
    for n in (1, args.workers):
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            results[n] = run_on(client, X, y, X_test, args.epochs)
        print(
            f"{n} worker(s): grid search ({n_fits} fits) {results[n][2][0]:.1f} s, "
            f"prediction of {len(X_test)} 1 s streams {results[n][2][1]:.1f} s",
            flush=True,
        )
    one, many = results[1], results[args.workers]
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1]), (
        "results differ between 1 and N workers"
    )
    print(
        f"identical scores and predictions; speed-up 1 -> {args.workers} workers: "
        f"grid search {one[2][0] / many[2][0]:.2f}x, "
        f"prediction {one[2][1] / many[2][1]:.2f}x"
    )


if __name__ == "__main__":
    main()
