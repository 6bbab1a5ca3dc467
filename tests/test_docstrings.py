"""The Examples sections of the public docstrings run and print what they say."""

import doctest
import importlib
import pkgutil

import pytest

import spikeclf

# Every Python module of the package; compiled kernels have no Python docstrings.
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(spikeclf.__path__, "spikeclf.")
    if not info.name.split(".")[-1].startswith("_")
    or info.name.endswith(
        ("_mlp", "_cnn", "_ann", "_digits", "_home", "_mnist", "_nmnist")
    )
)
OPTIONAL = {"spikeclf.nir": "nir"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0


def test_public_classes_and_functions_have_examples():
    public = [getattr(spikeclf, name) for name in spikeclf.__all__]
    documented = [
        obj
        for obj in public
        if callable(obj) and not (isinstance(obj, type) and issubclass(obj, Exception))
    ]
    assert len(documented) >= 8
    missing = [obj.__name__ for obj in documented if "Examples" not in obj.__doc__]
    assert missing == []
