"""Recipes are plain estimator parameters; ``paper`` is the defaults."""

import csv
import importlib
import importlib.util
from dataclasses import fields
from pathlib import Path

import pytest
from sklearn.base import clone

from spikeclf import SpikingMLPClassifier
from spikeclf.experiments import _FIELD_OF_PARAMETER, TrainingRun
from spikeclf.recipes import PRESENTATIONS, RECIPES, recipe_params, recipe_presentations


@pytest.mark.parametrize("name", list(RECIPES))
def test_a_recipe_is_valid_estimator_parameters(name):
    clf = SpikingMLPClassifier().set_params(**recipe_params(name))
    clf._validate_params()  # the constraints sklearn checks at fit
    assert {k: clf.get_params()[k] for k in RECIPES[name]} == RECIPES[name]
    # Every parameter a recipe sets, the command line sets too.
    run_fields = {f.name for f in fields(TrainingRun)}
    assert {_FIELD_OF_PARAMETER.get(k, k) for k in RECIPES[name]} <= run_fields


def test_paper_is_the_defaults_and_undoes_another_recipe():
    defaults = SpikingMLPClassifier().get_params()
    assert recipe_params("paper") == {k: defaults[k] for k in RECIPES["paper"]}
    assert {name: set(params) for name, params in RECIPES.items()} == {
        name: set(RECIPES["paper"]) for name in RECIPES
    }
    clf = SpikingMLPClassifier(**recipe_params("fast"))
    assert clone(clf).set_params(**recipe_params("paper")).get_params() == defaults


def test_fast_and_fast_98_are_the_recipes_measured():
    common = {"output_loss": "cross_entropy", "learning_rate": 0.003, "batch_size": 8,
              "average_every": 5000}  # fmt: skip
    assert recipe_params("fast") == {
        **common,
        "decay_epochs": 4.0,
        "max_iter": 5,
        "average": 3,
    }
    assert recipe_params("fast-98") == {
        **common,
        "decay_epochs": 12.0,
        "max_iter": 30,
        "average": 22,
    }
    for name in ("fast", "fast-98"):
        assert recipe_presentations(name) == {"average_train_duration": 0.1}


def test_every_recipe_names_its_presentations_and_paper_changes_none():
    assert set(PRESENTATIONS) == set(RECIPES)
    assert {name: set(p) for name, p in PRESENTATIONS.items()} == {
        name: {"average_train_duration"} for name in RECIPES
    }
    assert recipe_presentations("paper") == {"average_train_duration": None}
    run_fields = {f.name for f in fields(TrainingRun)}
    assert set(PRESENTATIONS["paper"]) <= run_fields
    assert TrainingRun(dataset="mnist", recipe="paper").average_train_duration is None
    given = TrainingRun(dataset="mnist", recipe="fast", average_train_duration=0.2)
    assert given.average_train_duration == 0.2
    assert TrainingRun(dataset="mnist", recipe="fast").average_train_duration == 0.1
    # N-MNIST's presentations are windows of events: the recipe leaves them.
    events = TrainingRun(dataset="nmnist", recipe="fast")
    assert (events.average_train_duration, events.average_window) == (None, None)
    with pytest.raises(ValueError, match="unknown recipe 'slow'"):
        recipe_presentations("slow")


def test_recipe_params_is_a_copy():
    recipe_params("fast")["learning_rate"] = 1.0
    assert RECIPES["fast"]["learning_rate"] == 0.003


def test_an_unknown_recipe_names_the_recipes():
    names = "choose from paper, fast, fast-98"
    with pytest.raises(ValueError, match=f"unknown recipe 'slow': {names}"):
        recipe_params("slow")
    with pytest.raises(ValueError, match="unknown recipe 'slow'"):
        TrainingRun(recipe="slow")


def test_a_training_run_takes_the_recipe_except_what_is_given():
    run = TrainingRun(dataset="mnist", recipe="fast", learning_rate=0.01)
    assert (run.epochs, run.learning_rate) == (5, 0.01)
    assert run.model_options() == {
        "output_loss": "cross_entropy",
        "learning_rate": 0.01,
        "decay_epochs": 4.0,
        "batch_size": 8,
    }
    assert run.averaging() == {"average": 3, "average_every": 5000}
    plain = TrainingRun(dataset="mnist")
    assert (plain.epochs, plain.output_loss, plain.batch_size) == (
        20,
        "max_normalized",
        None,
    )


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def time_to_accuracy(monkeypatch):
    """benchmarks/time_to_accuracy.py as a module (it imports compare_peers)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("time_to_accuracy")


def test_seconds_to_reach_is_the_first_evaluation_at_the_target(time_to_accuracy):
    evaluations = [(10, 0.95), (20, 0.965), (30, 0.96), (40, 0.971)]
    curve = [{"train_seconds": s, "test_accuracy": a} for s, a in evaluations]
    reach = time_to_accuracy.seconds_to_reach
    assert [reach(curve, t) for t in (0.96, 0.97, 0.98)] == [20, 40, None]


# A tiny size: digits, a few hundred samples, short test presentations.
TINY = ["--dataset", "digits", "--hidden", "30", "--train-samples", "300",
        "--test-samples", "60", "--test-duration", "0.1"]  # fmt: skip


def test_time_to_accuracy_runs_end_to_end(time_to_accuracy, tmp_path, capsys):
    table, figure = tmp_path / "curves.csv", tmp_path / "curves.png"
    curves = time_to_accuracy.main(
        [
            *TINY,
            "--recipe",
            "fast",
            "--epochs",
            "2",
            "--no-snntorch",
            "--csv",
            str(table),
            "--figure",
            str(figure),
        ]  # fmt: skip
    )
    out = capsys.readouterr().out
    assert "recipe fast" in out and "evaluation excluded" in out
    assert "96 %" in out and "97 %" in out and "98 %" in out
    assert list(curves) == ["spikeclf"]
    rows = list(csv.DictReader(table.open()))
    assert [(r["library"], r["epoch"], r["samples"]) for r in rows] == [
        ("spikeclf", "1", "300"),
        ("spikeclf", "2", "600"),
    ]
    seconds = [float(r["train_seconds"]) for r in rows]
    assert 0 < seconds[0] < seconds[1]
    assert all(0 <= float(r["test_accuracy"]) <= 1 for r in rows)
    if importlib.util.find_spec("matplotlib"):
        assert figure.read_bytes().startswith(b"\x89PNG")


def test_time_to_accuracy_trains_snntorch_too(time_to_accuracy, tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    table = tmp_path / "curves.csv"
    curves = time_to_accuracy.main(
        [
            *TINY,
            "--epochs",
            "1",
            "--torch-epochs",
            "1",
            "--torch-eval-every",
            "200",
            "--csv",
            str(table),
            "--figure",
            str(tmp_path / "curves.png"),
        ]  # fmt: skip
    )
    assert [p["samples"] for p in curves["snntorch"]] == [200, 300]
    assert "snntorch (BPTT, Adam 0.002, batch 100" in capsys.readouterr().out
    assert {r["library"] for r in csv.DictReader(table.open())} == {
        "spikeclf",
        "snntorch",
    }
