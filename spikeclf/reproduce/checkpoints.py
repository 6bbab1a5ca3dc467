"""Training with checkpoints: a target's networks resume at their last epoch."""

import json
import logging
from pathlib import Path

import joblib
import numpy as np
from tqdm.auto import tqdm

from .._persistence import write_atomically
from ..experiments import train_on_event_streams, train_on_images

logger = logging.getLogger(__name__)


def _evaluation_epochs(epochs, eval_every, average_last):
    """Every ``eval_every``-th epoch, every one of the last ``average_last``."""
    stops = set(range(eval_every, epochs + 1, eval_every)) if eval_every else set()
    stops |= set(range(max(1, epochs - average_last + 1), epochs + 1))
    return sorted(stops | {epochs})


def _train(classifier, train, name, *, epochs, eval_epochs, checkpoint_dir,
           fingerprint, progress):  # fmt: skip
    """Train ``classifier`` to ``epochs`` by ``train(classifier, epochs=, save=)``.

    With ``checkpoint_dir``, the model (after every epoch) and the evaluations
    so far are kept there under ``name`` and a hash of ``fingerprint``: a
    second call loads them and trains only the epochs still missing.
    """
    model_path = history_path = None
    history = []
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        key = joblib.hash(
            (fingerprint, classifier.get_params(), epochs, list(eval_epochs))
        )[:10]
        model_path = checkpoint_dir / f"{name}-{key}.joblib"
        history_path = checkpoint_dir / f"{name}-{key}.json"
        if model_path.exists() and history_path.exists():
            classifier = joblib.load(model_path)
            history = json.loads(history_path.read_text())
            logger.info(
                "%s: resuming %s after epoch %d", name, model_path, classifier.n_iter_
            )
    done = getattr(classifier, "n_iter_", 0)
    with tqdm(total=epochs, initial=done, desc=name, unit="epoch",
              disable=_hidden(progress), leave=False) as bar:  # fmt: skip
        for stop in eval_epochs:
            if stop <= getattr(classifier, "n_iter_", 0):
                continue
            before = getattr(classifier, "n_iter_", 0)
            records = train(classifier, epochs=stop, save=model_path)
            history += [{k: float(v) for k, v in r.items()} for r in records]
            for record in records:
                logger.info(
                    "%s: epoch %d, test accuracy %.4f", name, record["epoch"],
                    record["test_accuracy"],
                )  # fmt: skip
            if history_path is not None:
                text = json.dumps(history)
                write_atomically(history_path, lambda f, t=text: f.write(t.encode()))
            bar.update(stop - before)
    return classifier, history


def _hidden(progress):
    """tqdm's ``disable``: None hides the bars unless on a terminal."""
    return None if progress is None else not progress


def _task_fingerprint(task):
    """What identifies a task's data for checkpoint names: its name and labels."""
    return (task.name, np.asarray(task.y_train), np.asarray(task.y_test))


def _train_images(task, classifier, name, *, epochs, eval_epochs, checkpoint_dir,
                  progress, **protocol):  # fmt: skip
    """:func:`spikeclf.experiments.train_on_images`, checkpointed by :func:`_train`."""

    def train(clf, epochs, save):
        return train_on_images(task, clf, epochs=epochs, save=save,
                               log=lambda line: None, **protocol)  # fmt: skip

    return _train(
        classifier, train, name, epochs=epochs, eval_epochs=eval_epochs,
        checkpoint_dir=checkpoint_dir, progress=progress,
        fingerprint=(_task_fingerprint(task), repr(sorted(protocol.items()))),
    )  # fmt: skip


def _train_streams(task, classifier, name, *, epochs, eval_epochs, checkpoint_dir,
                   progress, window=300, random_state=0):  # fmt: skip
    """:func:`spikeclf.experiments.train_on_event_streams`, checkpointed."""

    def train(clf, epochs, save):
        return train_on_event_streams(task, clf, epochs=epochs, save=save,
                                      window=window, random_state=random_state,
                                      log=lambda line: None)  # fmt: skip

    return _train(
        classifier, train, name, epochs=epochs, eval_epochs=eval_epochs,
        checkpoint_dir=checkpoint_dir, progress=progress,
        fingerprint=(_task_fingerprint(task), window, random_state),
    )  # fmt: skip


def _accuracy_summary(history, epochs, average_last):
    """[min, mean, max] test accuracy over the evaluations of the last epochs."""
    last = [h["test_accuracy"] for h in history if h["epoch"] > epochs - average_last]
    last = last or [history[-1]["test_accuracy"]]
    return [float(np.min(last)), float(np.mean(last)), float(np.max(last))]


def _curve(history):
    return {
        "epoch": [int(h["epoch"]) for h in history],
        "test_accuracy": [h["test_accuracy"] for h in history],
    }
