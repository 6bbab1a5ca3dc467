"""Data sets as event streams: MNIST (IDX files), sklearn's digits, N-MNIST."""

from ._digits import load_digits_events
from ._home import get_data_home
from ._mnist import MNIST_FILES, find_mnist, load_mnist
from ._nmnist import load_nmnist, make_nmnist_like, read_nmnist_file, write_nmnist_file

__all__ = [
    "MNIST_FILES",
    "find_mnist",
    "get_data_home",
    "load_digits_events",
    "load_mnist",
    "load_nmnist",
    "make_nmnist_like",
    "read_nmnist_file",
    "write_nmnist_file",
]
