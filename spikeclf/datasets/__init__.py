"""Data sets as event streams: MNIST (IDX files), sklearn's digits."""

from ._digits import load_digits_events
from ._home import get_data_home
from ._mnist import MNIST_FILES, find_mnist, load_mnist

__all__ = [
    "MNIST_FILES",
    "find_mnist",
    "get_data_home",
    "load_digits_events",
    "load_mnist",
]
