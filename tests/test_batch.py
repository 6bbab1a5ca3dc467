"""Training in batches on several threads: the same model whatever n_jobs, and
batch size 1 exactly the sample-by-sample method it was before batches."""

from pathlib import Path

import joblib
import numpy as np
import pytest

from spikeclf import SpikingCNNClassifier, SpikingMLPClassifier, load_digits_events

# Parameters trained by the kernels of before batches (main at 053d8a3, one
# sample after another), for the configurations below: batch size 1 must give
# them bit for bit.
RECORDED = Path(__file__).parent / "data" / "batch1_reference.npz"

CONFIGS = {
    "mlp_sgd": (SpikingMLPClassifier, dict(hidden_layer_sizes=(40,), max_iter=2)),
    "mlp_adam_ce_avg": (
        SpikingMLPClassifier,
        dict(
            hidden_layer_sizes=(30, 20), solver="adam", learning_rate=1e-3,
            output_loss="cross_entropy", max_iter=3, average=1, average_every=50,
        ),
    ),
    "cnn_sgd": (
        SpikingCNNClassifier,
        dict(layers="4c3-p2-20", solver="sgd", learning_rate=2e-3, max_iter=2),
    ),
    "cnn_adam_ce_avg": (
        SpikingCNNClassifier,
        dict(
            layers="4c3-p2-20", output_loss="cross_entropy", max_iter=2, average=1,
            average_every=60,
        ),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def samples():
    X, y = load_digits_events(return_X_y=True)
    return X[:150], y[:150]


def trained(samples, name, **params):
    """Every trained array of a fit of CONFIGS[name], by name, and the losses."""
    cls, config = CONFIGS[name]
    clf = cls(random_state=0, **config, **params).fit(*samples)
    out = {f"{name}/p{i}": p for i, p in enumerate(clf.network_.parameters())}
    if getattr(clf, "averaged_network_", None) is not None:
        for i, p in enumerate(clf.averaged_network_.parameters()):
            out[f"{name}/avg{i}"] = p
    out[f"{name}/loss"] = np.array(clf.loss_curve_)
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_batch_size_1_gives_the_recorded_weights(samples, name, n_jobs):
    recorded = np.load(RECORDED)
    got = trained(samples, name, batch_size=1, n_jobs=n_jobs)
    names = sorted(k for k in recorded.files if k.startswith(f"{name}/"))
    assert names == sorted(got)
    for key in names:
        np.testing.assert_array_equal(got[key], recorded[key], err_msg=key)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("batch_size", [4, 7])
def test_weights_do_not_depend_on_the_number_of_threads(samples, name, batch_size):
    one = trained(samples, name, batch_size=batch_size, n_jobs=1)
    for n_jobs in (2, 4):
        other = trained(samples, name, batch_size=batch_size, n_jobs=n_jobs)
        for key in one:
            np.testing.assert_array_equal(other[key], one[key], err_msg=key)
    # and batches change the result: they are not batch size 1 in disguise
    single = trained(samples, name, batch_size=1)
    assert not np.array_equal(one[f"{name}/p0"], single[f"{name}/p0"])


@pytest.mark.parametrize("name", ["mlp_adam_ce_avg", "cnn_sgd"])
def test_an_interrupted_batched_fit_resumes_to_the_same_model(samples, name, tmp_path):
    cls, config = CONFIGS[name]
    params = {**config, "max_iter": 3, "batch_size": 4, "n_jobs": 2}
    whole = cls(random_state=0, **params).fit(*samples)
    checkpoint = tmp_path / "run.joblib"
    cls(random_state=0, **{**params, "max_iter": 1}).fit(
        *samples, checkpoint=checkpoint
    )
    resumed = joblib.load(checkpoint).set_params(warm_start=True, max_iter=2)
    resumed.fit(*samples)
    assert resumed.loss_curve_ == whole.loss_curve_
    for a, b in zip(
        resumed.network_.parameters(), whole.network_.parameters(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_snapshots_of_the_mean_fall_on_batch_ends(samples, monkeypatch):
    """average_every 50 with batches of 4: snapshots after samples 52 and 100 of
    an epoch of 150, and at its end."""
    from spikeclf import _base

    calls = []
    real = _base.BaseSpikingClassifier._fold_into_mean

    def folding(self):
        calls.append(1)
        return real(self)

    starts, snapshots = _base._kernel_calls(150, 4, 50)
    assert sorted(snapshots) == [52, 100]
    assert set(snapshots) <= set(starts.tolist())
    assert all(s % 4 == 0 for s in starts)
    starts, snapshots = _base._kernel_calls(4500, 16, None)
    assert snapshots == set() and starts.tolist() == [0, 2000, 4000]
    assert _base._kernel_calls(4500, 3, None)[0].tolist() == [0, 2001, 4002]
    monkeypatch.setattr(_base.BaseSpikingClassifier, "_fold_into_mean", folding)
    SpikingMLPClassifier(
        hidden_layer_sizes=(20,), max_iter=2, average=1, average_every=50,
        batch_size=4, random_state=0,
    ).fit(*samples)  # fmt: skip
    assert len(calls) == 3  # 2 within epoch 2, 1 at its end


def test_an_average_every_longer_than_the_epoch_snapshots_at_its_end(samples):
    """The fast recipe's 5,000 samples on the 1,347 digits: the starts were floats."""
    from spikeclf import _base

    starts, snapshots = _base._kernel_calls(150, 4, 500)
    assert snapshots == set() and starts.tolist() == [0] and starts.dtype.kind == "i"
    clf = SpikingMLPClassifier(
        hidden_layer_sizes=(20,), max_iter=2, average=1, average_every=500,
        batch_size=4, random_state=0,
    ).fit(*samples)  # fmt: skip
    assert clf.n_averaged_ == 1


@pytest.mark.parametrize(
    "params, match",
    [
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"batch_size": 2.5}, "'batch_size' parameter"),
        ({"n_jobs": 0}, "'n_jobs' parameter"),
    ],
)
@pytest.mark.parametrize("cls", [SpikingMLPClassifier, SpikingCNNClassifier])
def test_bad_batch_sizes_and_thread_counts_are_named(samples, cls, params, match):
    X, y = samples
    with pytest.raises(ValueError, match=match):
        cls(max_iter=1, **params).fit(X[:20], y[:20])
