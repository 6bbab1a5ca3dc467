"""Named recipes: sets of :class:`spikeclf.SpikingMLPClassifier` parameters.

A recipe is a plain dict of estimator parameters, nothing more: applying one
is ``clf.set_params(**recipe_params(name))``, and ``spikeclf train --recipe
NAME`` applies it with the options given on the command line taking
precedence. Every recipe sets the same parameters, so that one undoes
another. Beside them a recipe names its training presentations
(:data:`PRESENTATIONS`), which the encoder makes, not the estimator.
docs/training.md ("Recipes") has the table and what each was measured to do
on permutation-invariant MNIST (784-800-10).

``paper``
    The estimator's defaults: the method of Lee, Delbruck and Pfeiffer
    (2016), batch size 1, 30 epochs.
``fast``
    What reached 96 % and 97 % soonest on PI-MNIST: the cross-entropy output
    loss, SGD at 0.003 in batches of 8 with the learning rate decaying over
    4 epochs, 5 epochs of which the last 2 are averaged, with a snapshot of
    the parameters every 5,000 samples and training presentations of 100 ms.
``fast-98``
    The same over 30 epochs, the rate decaying over 12 and the last 8
    averaged: what reached 98 % soonest.
"""

__all__ = ["PRESENTATIONS", "RECIPES", "recipe_params", "recipe_presentations"]

#: The recipes by name: each a dict of SpikingMLPClassifier parameters.
RECIPES = {
    "paper": {
        "output_loss": "max_normalized",
        "learning_rate": 0.002,
        "decay_epochs": 35.0,
        "batch_size": 1,
        "max_iter": 30,
        "average": False,
        "average_every": None,
    },
    "fast": {
        "output_loss": "cross_entropy",
        "learning_rate": 0.003,
        "decay_epochs": 4.0,
        "batch_size": 8,
        "max_iter": 5,
        # The mean of the parameters of epochs 4 and 5, 12 snapshots an epoch
        # of 60,000 samples.
        "average": 3,
        "average_every": 5000,
    },
    "fast-98": {
        "output_loss": "cross_entropy",
        "learning_rate": 0.003,
        "decay_epochs": 12.0,
        "batch_size": 8,
        "max_iter": 30,
        "average": 22,
        "average_every": 5000,
    },
}


def recipe_params(name):
    """The estimator parameters of the recipe ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`: ``"paper"``, ``"fast"`` or ``"fast-98"``.

    Returns
    -------
    params : dict
        A new dict of :class:`spikeclf.SpikingMLPClassifier` parameters, for
        ``set_params(**params)`` or the constructor.

    Raises
    ------
    ValueError
        If there is no recipe of that name; the message lists the names.

    Examples
    --------
    >>> from spikeclf import SpikingMLPClassifier
    >>> from spikeclf.recipes import recipe_params
    >>> clf = SpikingMLPClassifier().set_params(**recipe_params("fast"))
    >>> clf.output_loss, clf.learning_rate, clf.batch_size, clf.max_iter
    ('cross_entropy', 0.003, 8, 5)

    ``paper`` is the estimator's defaults, and undoes ``fast``:

    >>> clf.set_params(**recipe_params("paper")).get_params() == (
    ...     SpikingMLPClassifier().get_params())
    True
    >>> recipe_params("quick")
    Traceback (most recent call last):
    ...
    ValueError: unknown recipe 'quick': choose from paper, fast, fast-98
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}: choose from {', '.join(RECIPES)}")
    return dict(RECIPES[name])


#: The training presentations of each recipe, beside its estimator parameters:
#: how long the events of a training image last in the epochs that are
#: averaged (``spikeclf train --average-train-duration``; None: as in the
#: others, ``--train-duration``). The encoder makes them, not the estimator:
#: a Python user encodes those epochs with
#: ``PoissonEncoder(duration=...)``, and ``spikeclf train --recipe`` does it.
PRESENTATIONS = {
    "paper": {"average_train_duration": None},
    "fast": {"average_train_duration": 0.1},
    "fast-98": {"average_train_duration": 0.1},
}


def recipe_presentations(name):
    """The training presentations of the recipe ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`.

    Returns
    -------
    presentations : dict
        A new dict: ``average_train_duration``, seconds of events per training
        image in the averaged epochs (None: the run's ``train_duration``).

    Raises
    ------
    ValueError
        As :func:`recipe_params`, for a name that is not a recipe.

    Examples
    --------
    >>> from spikeclf.recipes import recipe_presentations
    >>> recipe_presentations("paper")
    {'average_train_duration': None}
    """
    recipe_params(name)  # the error for an unknown name
    return dict(PRESENTATIONS[name])
