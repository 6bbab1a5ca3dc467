"""The documentation site builds without a warning (needs the ``docs`` extra)."""

import shutil
from pathlib import Path

import pytest

DOCS_PACKAGES = (
    "sphinx",
    "pydata_sphinx_theme",
    "numpydoc",
    "sphinx_gallery",
    "myst_parser",
)
for _module in DOCS_PACKAGES:
    pytest.importorskip(
        _module, reason=f"{_module} is not installed: pip install '.[docs]'"
    )

from sphinx.cmd.build import build_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build(tmp_path):
    # A copy of docs/ and examples/: autosummary and sphinx-gallery write their
    # pages into the source tree, which the test leaves alone.
    skip = shutil.ignore_patterns("_build", "generated", "auto_examples")
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=skip)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    html = tmp_path / "html"
    status = build_main(
        [
            "-b", "html", "-W", "--keep-going", "-q",
            "-d", str(tmp_path / "doctrees"),
            "-D", "plot_gallery=0",  # the gallery lists the examples, runs none
            str(tmp_path / "docs"), str(html),
        ]
    )  # fmt: skip
    assert status == 0
    assert (html / "index.html").is_file()
    page = html / "generated" / "spikeclf.SpikingMLPClassifier.html"
    assert page.is_file()
    assert "spikeclf.SpikingMLPClassifier.fit" in page.read_text(encoding="utf-8")
    assert (html / "auto_examples" / "index.html").is_file()
