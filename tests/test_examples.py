import runpy
from pathlib import Path

import pytest
from conftest import find_mnist_home

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys, monkeypatch, tmp_path):
    # Examples take --quick for a reduced run; the others ignore it.
    monkeypatch.setattr("sys.argv", [str(path), "--quick"])
    monkeypatch.chdir(tmp_path)
    if find_mnist_home() is not None:
        monkeypatch.setenv("SPIKECLF_DATA", str(find_mnist_home()))
    try:
        runpy.run_path(str(path), run_name="__main__")
    except FileNotFoundError as exc:
        pytest.skip(f"{path.name} needs a data set that is not here: {exc}")
    assert capsys.readouterr().out  # every example reports what it did
