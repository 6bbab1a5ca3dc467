import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import estimator_checks

from spikeclf import SpikingMLPClassifier, load_digits_events

# sklearn's checks that need no data: they apply to estimators of event streams too.
DATA_FREE_CHECKS = [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_param_validation,
    estimator_checks.check_estimator_repr,
]

# ../shared/data beside the project, as laid out on the development machines and CI.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def find_mnist_home():
    """$SPIKECLF_DATA or ../shared/data when it holds mnist/, else None."""
    for home in (os.environ.get("SPIKECLF_DATA"), SHARED_DATA):
        if home and any((Path(home) / "mnist").glob("train-images-idx3-ubyte*")):
            return Path(home)
    return None


@pytest.fixture(scope="session")
def mnist_home():
    """Folder of the real MNIST files, or skip saying where to put them."""
    home = find_mnist_home()
    if home is not None:
        return home
    pytest.skip(
        f"real MNIST not found: set SPIKECLF_DATA or put the IDX files in "
        f"{SHARED_DATA / 'mnist'}"
    )


@pytest.fixture(scope="session")
def mnist(mnist_home):
    from spikeclf import load_mnist

    return load_mnist(mnist_home, download=False)


@pytest.fixture(scope="session")
def small():
    """A quick problem: 300 digits as 50 ms event streams, 4 classes."""
    X, y = load_digits_events(return_X_y=True, random_state=0)
    keep = np.flatnonzero(y < 4)[:300]
    return [X[i] for i in keep], y[keep]


def quick(**params):
    """A classifier that trains on ``small`` in a fraction of a second."""
    params = {"hidden_layer_sizes": (40,), "max_iter": 3, "random_state": 0, **params}
    return SpikingMLPClassifier(**params)
