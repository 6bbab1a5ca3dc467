import subprocess
import sys

from spikeclf import __version__
from spikeclf.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"spikeclf {__version__}"


def test_datasets_finds_mnist(mnist_home, capsys):
    assert main(["datasets", "--data-home", str(mnist_home)]) == 0
    out = capsys.readouterr().out
    assert "digits" in out
    assert (
        f"found in {mnist_home / 'mnist'} (60000 train + 10000 test images, "
        "md5 verified)" in out
    )


def test_datasets_says_where_to_put_mnist(tmp_path, capsys):
    assert main(["datasets", "--data-home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "not found: put train-images-idx3-ubyte" in out
        and str(tmp_path / "mnist") in out
    )


def test_corrupted_mnist_is_reported(mnist_home, tmp_path, capsys):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in (mnist_home / "mnist").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    assert main(["datasets", "--data-home", str(tmp_path)]) == 0
    assert "mnist   unusable:" in capsys.readouterr().out


def test_module_entry_point(tmp_path):
    # Run outside the source tree, so the installed (compiled) package is the one used.
    out = subprocess.run(
        [sys.executable, "-m", "spikeclf", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip() == f"spikeclf {__version__}"


def test_unknown_command_fails(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "spikeclf", "fly"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode != 0 and "invalid choice" in result.stderr
