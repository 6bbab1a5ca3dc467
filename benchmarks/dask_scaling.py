"""Speed-up of a grid search and of an evaluation from 1 to N Dask workers.

Runs, on a ``dask.distributed.LocalCluster`` of 1 worker and of N workers
(processes, one thread each), in one process run:

- the same GridSearchCV (lateral inhibition x hidden size, as the paper's
  Figure 3, on the built-in digits events, 50 ms presentations);
- the evaluation of 10 draws of the digits at 1 s (17,970 streams), once with
  the streams made in the client and shipped to the workers, once made on the
  workers (each task draws its own: what reading files on the workers does);

checks that the results are identical, and prints the times and the ratios::

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
DRAWS = range(1, 11)  # seeds of the test draws


def test_draw(seed):
    """One draw of the 1,797 digits at 1 s, as an object array."""
    X, _ = load_digits_events(duration=1.0, random_state=seed, return_X_y=True)
    return as_object_array(X)


def predict_draw(model, seed):
    return model.predict(test_draw(seed))


def timed(run):
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def workload(X, y, epochs):
    """Scores, predictions and seconds of the search and the two evaluations."""
    search = GridSearchCV(
        SpikingMLPClassifier(max_iter=epochs, random_state=0), GRID, cv=FOLDS, n_jobs=-1
    )
    _, fit_s = timed(lambda: search.fit(X, y))
    model = search.best_estimator_
    shipped = [test_draw(seed) for seed in DRAWS]
    sent, sent_s = timed(
        lambda: joblib.Parallel(n_jobs=-1)(
            joblib.delayed(model.predict)(X_test) for X_test in shipped
        )
    )
    made, made_s = timed(
        lambda: joblib.Parallel(n_jobs=-1)(
            joblib.delayed(predict_draw)(model, seed) for seed in DRAWS
        )
    )
    assert np.array_equal(np.concatenate(sent), np.concatenate(made))
    scores = search.cv_results_["mean_test_score"]
    return scores, np.concatenate(made), (fit_s, sent_s, made_s)


def run_on(client, X, y, epochs):
    with joblib.parallel_backend("dask"):
        return workload(X, y, epochs)


def report(label, seconds):
    fit_s, sent_s, made_s = seconds
    n_fits = FOLDS * len(GRID["hidden_layer_sizes"]) * len(GRID["lateral_inhibition"])
    print(
        f"{label}: grid search ({n_fits} fits) {fit_s:.1f} s; evaluation of "
        f"{len(DRAWS) * 1797} 1 s streams: shipped {sent_s:.1f} s, made on the "
        f"workers {made_s:.1f} s",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler")
    args = parser.parse_args(argv)
    X, y = load_digits_events(duration=0.05, return_X_y=True)
    X = as_object_array(X)  # sent to the workers once, not with every task
    if args.scheduler:
        with Client(args.scheduler) as client:
            report(args.scheduler, run_on(client, X, y, args.epochs)[2])
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
            results[n] = run_on(client, X, y, args.epochs)
        report(f"{n} worker(s)", results[n][2])
    one, many = results[1], results[args.workers]
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1]), (
        "results differ between 1 and N workers"
    )
    ratios = np.divide(one[2], many[2])
    print(
        f"identical scores and predictions; speed-up 1 -> {args.workers} workers: "
        f"grid search {ratios[0]:.2f}x, evaluation shipped {ratios[1]:.2f}x, "
        f"made on the workers {ratios[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
