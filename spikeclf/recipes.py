"""Named recipes: sets of :class:`spikeclf.SpikingMLPClassifier` parameters.

A recipe is a plain dict of estimator parameters, nothing more: applying one
is ``clf.set_params(**recipe_params(name))``, and ``spikeclf train --recipe
NAME`` applies it with the options given on the command line taking
precedence. Every recipe sets the same parameters, so that one undoes
another. docs/training.md ("Recipes") has the table and what each was
measured to do on permutation-invariant MNIST (784-800-10).

``paper``
    The estimator's defaults: the method of Lee, Delbruck and Pfeiffer
    (2016), batch size 1, 30 epochs.
``fast``
    What reached 96 % and 97 % soonest on PI-MNIST: the cross-entropy output
    loss, SGD at 0.003 in batches of 8 with the learning rate decaying over
    8 epochs, 10 epochs of which the last 2 are averaged with a snapshot of
    the parameters every 5,000 samples.
"""

__all__ = ["RECIPES", "recipe_params"]

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
        "decay_epochs": 8.0,
        "batch_size": 8,
        "max_iter": 10,
        # The mean of the parameters of epochs 9 and 10, 12 snapshots an epoch
        # of 60,000 samples.
        "average": 8,
        "average_every": 5000,
    },
}


def recipe_params(name):
    """The estimator parameters of the recipe ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`: ``"paper"`` or ``"fast"``.

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
    ('cross_entropy', 0.003, 8, 10)

    ``paper`` is the estimator's defaults, and undoes ``fast``:

    >>> clf.set_params(**recipe_params("paper")).get_params() == (
    ...     SpikingMLPClassifier().get_params())
    True
    >>> recipe_params("quick")
    Traceback (most recent call last):
    ...
    ValueError: unknown recipe 'quick': choose from paper, fast
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}: choose from {', '.join(RECIPES)}")
    return dict(RECIPES[name])
