"""Saving fitted estimators: atomic files and a state format checked on load.

Estimators pickle (pickle, joblib) and go through ``skops.io`` for files that
must not be unpickled blindly::

    import skops.io
    skops.io.dump(clf, "model.skops")
    clf = skops.io.load("model.skops", trusted=spikeclf.SKOPS_TRUSTED_TYPES)

Every saved estimator records the spikeclf version and the state format that
wrote it; loading a state format this version cannot read raises a ValueError
instead of returning an estimator that predicts garbage.
"""

import os
import secrets

import joblib

# Bump when a fitted attribute changes meaning or layout.
STATE_FORMAT = 1

#: spikeclf's own types in a saved estimator, for ``skops.io.load(trusted=...)``.
SKOPS_TRUSTED_TYPES = [
    "spikeclf._mlp.SpikingMLPClassifier",
    "spikeclf._network.Network",
    "spikeclf._cnn.SpikingCNNClassifier",
    "spikeclf._network.ConvNetwork",
    # where ConvNetwork was before it joined Network (files saved before)
    "spikeclf._cnn.ConvNetwork",
]


def state_format():
    """The entries every saved estimator carries."""
    from . import __version__

    return {"_spikeclf_version": __version__, "_spikeclf_state_format": STATE_FORMAT}


def check_state_format(state, name):
    """``state`` without the format entries; ValueError if it cannot be read."""
    from . import __version__

    state = dict(state)
    version = state.pop("_spikeclf_version", "0.1.0.dev0")
    fmt = state.pop("_spikeclf_state_format", 1)  # states written before formats
    if fmt != STATE_FORMAT:
        raise ValueError(
            f"this {name} was saved by spikeclf {version} in state format {fmt}; "
            f"spikeclf {__version__} reads format {STATE_FORMAT} only: load it with "
            f"spikeclf {version}, or train it again"
        )
    return state


def dump_atomically(obj, path):
    """joblib.dump ``obj`` to ``path`` so that ``path`` is never half written."""
    write_atomically(path, lambda f: joblib.dump(obj, f))


def write_atomically(path, write):
    """Call ``write(file)`` on a new file that then replaces ``path``.

    The file is written next to ``path`` and renamed over it: an interruption
    leaves the previous file (or none), never a truncated one, and no temporary
    file behind (it is created inside the ``try``, so a Ctrl-C at any moment
    finds it to remove). It gets the permissions of any new file of the user
    (``0o666 & ~umask``).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{secrets.token_hex(8)}")
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
