"""``spikeclf reproduce``: outputs, records, skipping, resuming, the results page.

Every target runs once in its ``--tiny`` form (the built-in digits, seconds);
the tests then check what it wrote.
"""

import csv
import json
import logging

import pytest

from spikeclf.cli import main
from spikeclf.reproduce import (
    PAPER,
    TARGETS,
    _Context,
    _image_task,
    run_target,
    target_parameters,
)

VERSION_KEYS = {"spikeclf", "numpy", "scikit-learn", "scipy", "tonic", "python",
                "platform"}  # fmt: skip


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    """All targets run once, tiny."""
    folder = tmp_path_factory.mktemp("reproduce")
    assert main(["reproduce", "all", "--tiny", "--output", str(folder)]) == 0
    return folder


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def table_rows(markdown):
    """The rows of the Markdown table, header first, separator dropped."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if not line.startswith("| ---")]  # fmt: skip


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_target_writes_csv_markdown_figures_and_record(output, target):
    folder = output / target
    for suffix in ("csv", "md", "png", "svg", "json"):
        assert (folder / f"{target}.{suffix}").stat().st_size > 0
    assert (folder / f"{target}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (folder / f"{target}.svg").read_bytes()[:2000]
    record = json.loads((folder / f"{target}.json").read_text())
    assert record["target"] == target and record["mode"] == "tiny"
    assert record["parameters"] == target_parameters(target, "tiny")
    assert record["command"] == f"spikeclf reproduce all --tiny --output {output}"
    assert VERSION_KEYS <= set(record["versions"])
    assert record["versions"]["spikeclf"]
    assert record["date"] and record["seconds"] >= 0 and record["data"]
    assert set(record["files"]) >= {f"{target}.csv", f"{target}.md"}
    header, *rows = read_csv(folder / f"{target}.csv")
    assert rows and all(len(row) == len(header) for row in rows)
    assert len(table_rows((folder / f"{target}.md").read_text())) >= 2


def test_table2_has_a_row_per_network_next_to_the_paper(output):
    networks = target_parameters("table2", "tiny")["networks"]
    header, *rows = read_csv(output / "table2" / "table2.csv")
    assert header[:6] == ["network", "solver", "lateral_inhibition", "accuracy_min",
                          "accuracy_mean", "accuracy_max"]  # fmt: skip
    assert [r[0] for r in rows] == ["64-30-10", "64-20-20-10"]
    assert all(0 <= float(r[4]) <= 100 for r in rows)
    table = table_rows((output / "table2" / "table2.md").read_text())
    assert table[0][-1] == "paper (%)"
    # Our networks, then the paper's other models with their numbers.
    assert len(table) == 1 + len(networks) + len(PAPER["table2_others"])
    assert table[-1][-1] == "97.80"
    # Learning curves: one line per network and evaluated epoch.
    curves = read_csv(output / "table2" / "table2_curves.csv")
    assert curves[0] == ["network", "epoch", "test_accuracy"]
    assert len(curves) == 1 + 2 * target_parameters("table2", "tiny")["epochs"]


def test_paper_numbers_are_those_of_the_paper(output):
    assert [n["accuracy"][1] for n in PAPER["table2"]] == [98.64, 98.70, 98.77]
    assert PAPER["table3"] == 99.31
    assert PAPER["table4"] == [98.56, 98.66, 98.74]
    table = table_rows((output / "table4" / "table4.md").read_text())
    assert table[1][-1] == "[98.56, 98.66, 98.74]"


def test_figure3_table_has_a_column_per_strength(output):
    params = target_parameters("fig3", "tiny")
    table = table_rows((output / "fig3" / "fig3.md").read_text())
    assert len(table[0]) == 1 + len(params["strengths"]) + 2
    assert [row[0] for row in table[1:]] == [str(n) for n in params["hidden_sizes"]]
    assert all(row[-1] == "-0.4" for row in table[1:])  # the paper's best


def test_figures_5_and_6_share_one_trained_network(output):
    log = (output / "reproduce.log").read_text()
    assert "fig6: started" in log
    fig6_part = log[log.index("fig6: started") :]
    assert "resuming" in fig6_part and "snn-" in fig6_part


def test_rerun_skips_finished_targets_and_force_reruns(tmp_path, capsys):
    args = ["reproduce", "table3", "--tiny", "--output", str(tmp_path)]
    assert main(args) == 0
    md = tmp_path / "table3" / "table3.md"
    md.write_text("left alone\n")  # a skipped target writes nothing
    capsys.readouterr()
    assert main(args) == 0
    assert "table3: finished on" in capsys.readouterr().out
    assert md.read_text() == "left alone\n"
    assert "table3: skipped" in (tmp_path / "reproduce.log").read_text()
    assert main([*args, "--force"]) == 0
    assert "skipped" not in capsys.readouterr().out
    assert md.read_text().startswith("| network |")


def test_changed_parameters_are_not_skipped(tmp_path):
    run_target("fig2b", tmp_path, mode="tiny")
    record_path = tmp_path / "fig2b" / "fig2b.json"
    record = json.loads(record_path.read_text())
    record["parameters"]["epochs"] = 99
    record_path.write_text(json.dumps(record))
    assert run_target("fig2b", tmp_path, mode="tiny")["skipped"] is False


def test_an_interrupted_target_resumes_from_its_checkpoints(tmp_path, caplog):
    first = run_target("table4", tmp_path, mode="tiny")
    rows = read_csv(tmp_path / "table4" / "table4.csv")
    # Interrupted after training, before the record was written.
    (tmp_path / "table4" / "table4.json").unlink()
    with caplog.at_level(logging.INFO, logger="spikeclf.reproduce"):
        second = run_target("table4", tmp_path, mode="tiny")
    assert not second["skipped"]
    assert "resuming" in caplog.text and "epoch 2" in caplog.text
    assert read_csv(tmp_path / "table4" / "table4.csv") == rows
    assert second["summary"] == first["summary"]


def test_unknown_target_is_one_line(tmp_path, capsys):
    assert main(["reproduce", "table9", "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown target 'table9'" in err and "table2" in err


def test_missing_nmnist_says_where_to_put_it(tmp_path, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    status = main(["reproduce", "table4", "--quick", "--nmnist-home", str(empty),
                   "--output", str(tmp_path / "out")])  # fmt: skip
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("spikeclf reproduce: table4: error: N-MNIST not found")
    assert "spikeclf make-nmnist" in err
    assert not (tmp_path / "out" / "table4" / "table4.json").exists()


def test_quick_falls_back_to_the_digits_without_mnist(tmp_path, caplog):
    ctx = _Context("quick", tmp_path, tmp_path, tmp_path / "models", False)
    with caplog.at_level(logging.WARNING, logger="spikeclf.reproduce"):
        task = _image_task(target_parameters("fig2b", "quick"), ctx)
    assert task.name == "digits"
    assert "built-in 8x8 digits instead" in caplog.text
    assert ctx.data.startswith("the built-in 8x8 digits")
    full = _Context("full", tmp_path, tmp_path, tmp_path / "models", False)
    with pytest.raises(FileNotFoundError):  # only --quick falls back
        _image_task({**target_parameters("fig2b", "full"), "data": "mnist"}, full)


def test_results_page_collects_every_table_command_and_figure(output, tmp_path,
                                                              capsys):  # fmt: skip
    page = tmp_path / "docs" / "results.md"
    args = ["reproduce", "--results", str(page), "--output", str(output)]
    assert main(args) == 0
    assert str(page) in capsys.readouterr().out
    text = page.read_text()
    assert text.startswith("# Results")
    assert "These are the `--tiny` runs" in text
    command = f"spikeclf reproduce all --tiny --output {output}"
    for target, spec in TARGETS.items():
        assert f"## {spec['title']}" in text
        table = (output / target / f"{target}.md").read_text().strip()
        assert table in text
        assert f"](img/reproduce_{target}.png)" in text
        assert (page.parent / "img" / f"reproduce_{target}.png").stat().st_size > 0
        assert f"spikeclf reproduce {target} --output results-full" in text
    assert text.count(f"Made by `{command}` (tiny mode)") == len(TARGETS)


def test_results_page_keeps_its_headline_and_hides_data_folders(output, tmp_path):
    from spikeclf.reproduce.page import KEPT_BEGIN, KEPT_END

    page = tmp_path / "results.md"
    headline = f"{KEPT_BEGIN}\n| result | measured |\n| --- | --- |\n{KEPT_END}"
    page.write_text(f"# Results\n\n{headline}\n\nan older generated part\n")
    folder = str(tmp_path / "mnist-here")
    args = ["reproduce", "--results", str(page), "--output", str(output),
            "--data-home", folder]  # fmt: skip
    assert main(args) == 0
    text = page.read_text()
    assert text.count(headline) == 1 and "an older generated part" not in text
    assert text.index(headline) < text.index("Generated by")
    generated_by = text[text.index("Generated by") :].splitlines()[0]
    assert folder not in text and "--data-home DIR`" in generated_by


def test_results_page_needs_a_finished_target(tmp_path, capsys):
    args = ["reproduce", "--results", str(tmp_path / "r.md"), "--output",
            str(tmp_path / "empty")]  # fmt: skip
    assert main(args) == 1
    assert "no finished target" in capsys.readouterr().err
