"""Where data sets live on disk."""

import os
from pathlib import Path

#: Environment variable naming the data home.
DATA_ENV = "SPIKECLF_DATA"


def get_data_home(data_home=None):
    """Return the folder that holds spikeclf's data sets.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder. None means the environment variable ``SPIKECLF_DATA``, then
        ``$XDG_CACHE_HOME/spikeclf`` (``~/.cache/spikeclf``). The folder is not
        created here; a loader creates it only when it downloads into it.

    Returns
    -------
    data_home : pathlib.Path

    Examples
    --------
    >>> from spikeclf.datasets import get_data_home
    >>> str(get_data_home("/tmp/my-data"))
    '/tmp/my-data'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_ENV) or None
    if data_home is None:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        data_home = Path(cache) / "spikeclf"
    return Path(data_home).expanduser()
