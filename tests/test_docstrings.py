"""The Examples sections of the public docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "spikeclf.events",
    "spikeclf.encoders",
    "spikeclf.simulator",
    "spikeclf.datasets._digits",
    "spikeclf.datasets._home",
    "spikeclf.datasets._mnist",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0
