"""Recipes are plain estimator parameters; ``paper`` is the defaults."""

from dataclasses import fields

import pytest
from sklearn.base import clone

from spikeclf import SpikingMLPClassifier
from spikeclf.experiments import _FIELD_OF_PARAMETER, TrainingRun
from spikeclf.recipes import RECIPES, recipe_params


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


def test_fast_is_the_recipe_measured():
    assert recipe_params("fast") == {
        "output_loss": "cross_entropy",
        "learning_rate": 0.003,
        "decay_epochs": 8.0,
        "batch_size": 8,
        "max_iter": 10,
        "average": 8,
        "average_every": 5000,
    }


def test_recipe_params_is_a_copy():
    recipe_params("fast")["learning_rate"] = 1.0
    assert RECIPES["fast"]["learning_rate"] == 0.003


def test_an_unknown_recipe_names_the_recipes():
    names = "choose from paper, fast"
    with pytest.raises(ValueError, match=f"unknown recipe 'slow': {names}"):
        recipe_params("slow")
    with pytest.raises(ValueError, match="unknown recipe 'slow'"):
        TrainingRun(recipe="slow")


def test_a_training_run_takes_the_recipe_except_what_is_given():
    run = TrainingRun(dataset="mnist", recipe="fast", learning_rate=0.01)
    assert (run.epochs, run.learning_rate) == (10, 0.01)
    assert run.model_options() == {
        "output_loss": "cross_entropy",
        "learning_rate": 0.01,
        "decay_epochs": 8.0,
        "batch_size": 8,
    }
    assert run.averaging() == {"average": 8, "average_every": 5000}
    plain = TrainingRun(dataset="mnist")
    assert (plain.epochs, plain.output_loss, plain.batch_size) == (
        20,
        "max_normalized",
        None,
    )
