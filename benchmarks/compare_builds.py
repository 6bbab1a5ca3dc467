"""The simulator of this checkout against another build, in one process.

Two builds timed in two runs of ``benchmarks/roofline.py`` differ by the
machine's noise as much as by their code; here both run in one process:
OTHER's ``_lif`` and ``_lif32`` (a checkout or copy of spikeclf with its
kernels built in place, ``python setup.py build_ext --inplace``) are loaded
beside this checkout's, and both simulate the workload of roofline.py
(784-800-10, per-neuron thresholds, 20 digits at 5,000 events/s for 1 s, one
thread) interleaved with the gathered-row roofline, best of ``--repeat``. Each
build's ratio to the roofline and this build's speedup over OTHER are printed,
in float64 and float32; both simulate in threshold units, as predict does
(``--exact``: the parameters as given). Run:
``python benchmarks/compare_builds.py OTHER --data-home ../shared/data``.
"""

import argparse
import importlib.machinery
import importlib.util
import time
from pathlib import Path

import numpy as np
from roofline import simulate_workload, workload

import spikeclf.simulator
from spikeclf._alignment import aligned
from spikeclf._lif import accumulate_rows
from spikeclf.simulator import in_threshold_units

DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def load_kernels(checkout):
    """The simulate functions of another build, by dtype."""
    kernels = {}
    for module, dtype in zip(("_lif", "_lif32"), DTYPES, strict=True):
        path = next(Path(checkout, "spikeclf").glob(f"{module}.*.so"), None)
        if path is None:
            raise SystemExit(f"{checkout}/spikeclf has no built {module}: build it")
        loader = importlib.machinery.ExtensionFileLoader(f"other.{module}", str(path))
        spec = importlib.util.spec_from_loader(loader.name, loader)
        loaded = importlib.util.module_from_spec(spec)
        loader.exec_module(loaded)
        kernels[dtype] = loaded.simulate
    return kernels


def compare(run, packed, first_layer, dtype, repeat):
    """Print both builds' ratios to the roofline in ``dtype``."""
    this, other = run("this", dtype), run("other", dtype)
    same = np.mean(np.all(this.counts == other.counts, axis=1))
    synops, rows = this.synops.sum(), packed.channel
    acc, w = aligned(np.zeros(800), dtype), aligned(first_layer, dtype)
    timed = {
        "this": lambda: run("this", dtype),
        "other": lambda: run("other", dtype),
        "roofline": lambda: accumulate_rows(w, rows, acc),
    }
    best = dict.fromkeys(timed, np.inf)
    for _ in range(repeat):
        for name, fn in timed.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    roof = len(rows) * 800 / best["roofline"]
    print(
        f"{dtype.name}: ratio to the roofline this {synops / best['this'] / roof:.3f}"
        f", other {synops / best['other'] / roof:.3f}; "
        f"this build {best['other'] / best['this']:.3f}x the speed of the other; "
        f"output counts equal in {same:.0%} of the samples"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="a spikeclf checkout with its kernels built")
    parser.add_argument("--data-home", default=None, help="folder with MNIST")
    parser.add_argument("--repeat", type=int, default=201)
    parser.add_argument(
        "--exact", action="store_true", help="the parameters as given (default: in "
        "threshold units)",
    )  # fmt: skip
    args = parser.parse_args()

    packed, source, weights, thresholds = workload(args.data_home, 20)
    if not args.exact:
        weights, thresholds = in_threshold_units(weights, thresholds)
    # simulate picks its kernel from this table by dtype: swapped per build.
    table = spikeclf.simulator._KERNELS
    kernels = {"this": dict(table), "other": load_kernels(args.other)}

    def run(build, dtype):
        table.update(kernels[build])
        return simulate_workload(packed, weights, thresholds, dtype)

    n = packed.n_samples
    print(f"input: {source}, {n} samples, 1 thread, best of {args.repeat}")
    try:
        for dtype in DTYPES:
            compare(run, packed, weights[0], dtype, args.repeat)
    finally:
        table.update(kernels["this"])


if __name__ == "__main__":
    main()
