import os
from pathlib import Path

import pytest

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
