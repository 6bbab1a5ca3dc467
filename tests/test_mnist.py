import gzip
import shutil

import numpy as np
import pytest

from spikeclf import load_mnist
from spikeclf.datasets import MNIST_FILES, find_mnist

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist_shapes_dtypes_and_label_counts(mnist):
    X_train, y_train, X_test, y_test = mnist
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for a in mnist:
        assert a.dtype == np.uint8
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    # Digits are bright strokes on a black background.
    assert X_train.max() == 255 and np.median(X_train) == 0


def test_data_home_or_its_mnist_folder(mnist_home, mnist):
    direct = load_mnist(mnist_home / "mnist", download=False)
    for a, b in zip(direct, mnist, strict=True):
        np.testing.assert_array_equal(a, b)
    assert find_mnist(mnist_home) == mnist_home / "mnist"


def test_environment_variable_is_the_default_home(mnist_home, monkeypatch):
    monkeypatch.setenv("SPIKECLF_DATA", str(mnist_home))
    assert load_mnist(download=False)[3].shape == (10000,)


def test_uncompressed_files_are_read(mnist_home, tmp_path):
    for name in MNIST_FILES:
        with gzip.open(mnist_home / "mnist" / f"{name}.gz", "rb") as src:
            (tmp_path / name).write_bytes(src.read())
    y_test = load_mnist(tmp_path, download=False)[3]
    assert np.bincount(y_test).tolist() == TEST_COUNTS


def test_missing_files_name_the_files_and_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert str(tmp_path / "mnist") in message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_failed_download_says_where_to_put_the_files(tmp_path, monkeypatch):
    # A mirror that does not exist: the error must still say what to do.
    monkeypatch.setenv("SPIKECLF_MNIST_MIRROR", (tmp_path / "nowhere").as_uri())
    monkeypatch.setattr("spikeclf.datasets._mnist.MNIST_MIRRORS", ())
    with pytest.raises(FileNotFoundError, match="Put the four MNIST IDX files"):
        load_mnist(tmp_path / "home")
    assert not list((tmp_path / "home").rglob("*.part"))


def test_download_from_a_mirror_verifies_and_works_offline_after(
    mnist_home, tmp_path, monkeypatch
):
    mirror = tmp_path / "mirror"
    shutil.copytree(mnist_home / "mnist", mirror)
    monkeypatch.setenv("SPIKECLF_MNIST_MIRROR", mirror.as_uri())
    home = tmp_path / "home"
    y_test = load_mnist(home)[3]
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert sorted(p.name for p in (home / "mnist").iterdir()) == sorted(
        f"{name}.gz" for name in MNIST_FILES
    )
    shutil.rmtree(mirror)
    assert load_mnist(home, download=False)[3].shape == (10000,)


def test_corrupted_file_is_rejected_by_md5(mnist_home, tmp_path):
    shutil.copytree(mnist_home / "mnist", tmp_path / "mnist")
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "rb") as f:
        content = bytearray(f.read())
    content[100] = (content[100] + 1) % 10  # one wrong label
    with gzip.open(path, "wb") as f:
        f.write(bytes(content))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is corrupted: md5"):
        load_mnist(tmp_path, download=False)


def test_truncated_gzip_is_a_clear_error(mnist_home, tmp_path):
    shutil.copytree(mnist_home / "mnist", tmp_path / "mnist")
    path = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path, download=False)
