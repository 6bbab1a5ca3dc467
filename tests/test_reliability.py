"""Reliability: bad input, kernel boundaries, persistence, interruption, determinism."""

import os
import pickle
import signal
import stat
import subprocess
import sys
import time

import joblib
import numpy as np
import pytest
from conftest import quick
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV

import spikeclf
from spikeclf import (
    EventStreamError,
    SpikingMLPClassifier,
    TrainingDiverged,
    make_events,
    simulate,
)
from spikeclf._network import Network
from spikeclf.events import PackedEvents
from spikeclf.experiments import load_task, train_on_images


@pytest.fixture(scope="module")
def fitted(small):
    X, y = small
    return quick(max_iter=2).fit(X, y)


# ------------------------------------------------------------------ bad input
def test_errors_name_the_sample_across_prediction_chunks(small, fitted, monkeypatch):
    monkeypatch.setattr("spikeclf._base._PREDICT_CHUNK", 64)
    X, _ = small
    X = list(X)
    X[150] = X[150].copy()
    X[150]["x"][-1] = 99
    with pytest.raises(EventStreamError, match="^sample 150: coordinate x=99") as info:
        fitted.predict(X)
    assert info.value.sample == 150
    copy = pickle.loads(pickle.dumps(info.value))  # e.g. from a joblib worker
    assert (copy.sample, str(copy)) == (150, str(info.value))


def test_chunked_prediction_equals_one_chunk(small, fitted, monkeypatch):
    X, _ = small
    whole = fitted.predict_proba(X), fitted.synaptic_operations(X)
    monkeypatch.setattr("spikeclf._base._PREDICT_CHUNK", 7)
    np.testing.assert_array_equal(fitted.predict_proba(X), whole[0])
    for chunked, one in zip(fitted.synaptic_operations(X), whole[1], strict=True):
        np.testing.assert_array_equal(chunked, one)


def test_score_rejects_labels_the_model_never_saw(small, fitted):
    X, y = small
    with pytest.raises(ValueError, match="not seen"):
        fitted.score(X, y + 10)


def test_kernels_check_indices_at_their_boundary(fitted):
    """Packed events are trusted by the estimators, so the kernels' own check at
    their Python boundary is what stands between a bad index and memory."""
    n_in = fitted.n_features_in_
    weights, thresholds = fitted.coefs_, fitted.thresholds_
    bad = PackedEvents(
        np.array([0, n_in], np.int32), np.array([1.0, 2.0]), np.array([0, 2]), (8, 8, 1)
    )
    with pytest.raises(
        ValueError, match="kernel input channel: event 1 has channel 64"
    ):
        simulate(bad, weights, thresholds, lateral_inhibition=[-0.4, -1.0])
    ragged = bad._replace(channel=np.array([0, 1], np.int32), indptr=np.array([0, 3]))
    with pytest.raises(ValueError, match="kernel input indptr"):
        simulate(ragged, weights, thresholds, t_end=0.01)
    good = ragged._replace(indptr=np.array([0, 2]))
    with pytest.raises(ValueError, match="weights must have shape"):
        simulate(good, [weights[0][:-1], weights[1]], thresholds)
    network = fitted.network_
    train = dict(
        lr_w=0.01, lr_th=0.001, rho=[0, 0], reg_lambda=[0, 0], reg_beta=10.0,
        reg_every=100, sigma=0.5, adam=None,
    )  # fmt: skip
    with pytest.raises(ValueError, match="kernel input target"):
        network.train_epoch(good, np.array([3.0]), [7], [0], **train)
    with pytest.raises(ValueError, match="kernel input order"):
        network.train_epoch(good, np.array([3.0]), [0], [1], **train)
    with pytest.raises(ValueError, match="kernel input channel: event 1"):
        network.train_epoch(bad, np.array([3.0]), [0], [0], **train)


@st.composite
def malformed_streams(draw):
    """Streams that are sometimes valid and often not, in every way we know."""
    n = draw(st.integers(0, 4))
    streams = []
    for _ in range(n):
        length = draw(st.integers(0, 6))
        dtype = draw(st.sampled_from(["i2", "i8", "u1", "f8", "f4", "b1"]))
        names = ["x", "y", "t", "p"]
        if draw(st.booleans()) and draw(st.booleans()):
            names.remove(draw(st.sampled_from(names)))
        ev = np.zeros(length, dtype=[(name, dtype) for name in names])
        values = st.one_of(
            st.integers(-3, 12),
            st.sampled_from([np.nan, np.inf, -1.5, 0.5, 1e12]),
        )
        for name in names:
            column = draw(st.lists(values, min_size=length, max_size=length))
            with np.errstate(all="ignore"):
                ev[name] = np.asarray(column, dtype=float).astype(dtype)
        if draw(st.integers(0, 9)) == 0:
            ev = ev.reshape(-1, 1) if length else ev
        streams.append(ev)
    return draw(st.sampled_from([list, tuple, lambda s: s[0] if s else s]))(streams)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=malformed_streams())
def test_fuzz_prediction_answers_or_raises_value_or_type_error(fitted, X):
    try:
        predicted = fitted.predict(X)
    except (ValueError, TypeError) as exc:
        assert str(exc)  # a message, not an empty error
        return
    assert predicted.shape == (len(X),)
    assert set(predicted) <= set(fitted.classes_)


@settings(max_examples=40, deadline=None)
@given(
    params=st.fixed_dictionaries(
        {},
        optional={
            "tau": st.sampled_from([-1.0, 0.0, 1e-9, 20e-3, np.inf, np.nan]),
            "refractory": st.sampled_from([-1e-3, 0.0, 1e-3, 10.0]),
            "alpha": st.sampled_from([0.0, -1.0, 3.0, (3.0, 0.0), (1.0, 2.0, 3.0)]),
            "learning_rate": st.sampled_from([0.0, -1.0, 1e-3, 1e300, np.nan]),
            "hidden_layer_sizes": st.sampled_from([(), (0,), (5,), (-2,), (3, 3)]),
            "lateral_inhibition": st.sampled_from([(-0.4, -1.0), (2.0, 0.0), (0.0,)]),
            "threshold_min": st.sampled_from([-0.5, 0.0, 0.2, 1.0, 2.0]),
            "weight_reg": st.sampled_from([-1.0, 0.0, 0.02, 1e6]),
            "sigma": st.sampled_from([-0.5, 0.5, 2.0]),
            "sensor_size": st.sampled_from([(8, 8, 1), (4, 4, 1), (8, 8), None]),
        },
    )
)
def test_fuzz_hyperparameters_fit_or_raise_value_or_type_error(small, params):
    X, y = small
    X, y = X[:40], y[:40]
    try:
        clf = quick(max_iter=1, **params).fit(X, y)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert all(np.isfinite(w).all() for w in clf.coefs_)
    assert clf.predict(X).shape == (40,)


# ---------------------------------------------------------------- persistence
def test_joblib_and_skops_round_trips(small, fitted, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    X, _ = small
    expected = fitted.predict_proba(X)
    joblib.dump(fitted, tmp_path / "m.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "m.joblib").predict_proba(X), expected
    )
    skops_io.dump(fitted, tmp_path / "m.skops")
    with pytest.raises(skops_io.exceptions.UntrustedTypesFoundException):
        skops_io.load(tmp_path / "m.skops")
    loaded = skops_io.load(tmp_path / "m.skops", trusted=spikeclf.SKOPS_TRUSTED_TYPES)
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)


def test_a_model_of_another_state_format_is_refused(fitted, monkeypatch):
    saved = pickle.dumps(fitted)
    monkeypatch.setattr("spikeclf._persistence.STATE_FORMAT", 2)
    with pytest.raises(ValueError, match="saved by spikeclf .* in state format 1;"):
        pickle.loads(saved)


def test_a_state_without_a_newer_parameter_takes_its_default(small, fitted):
    X, _ = small
    state = fitted.__getstate__()
    for name in ("output_loss", "_spikeclf_version", "_spikeclf_state_format"):
        del state[name]
    old = SpikingMLPClassifier.__new__(SpikingMLPClassifier)
    old.__setstate__(state)
    assert old.output_loss == "max_normalized"
    np.testing.assert_array_equal(old.predict(X), fitted.predict(X))


def test_divergence_stops_with_the_last_good_parameters(small):
    X, y = small
    clf = quick(max_iter=2).fit(X, y)
    before = [w.copy() for w in clf.coefs_]
    clf.set_params(warm_start=True, learning_rate=1e300)
    with pytest.raises(TrainingDiverged, match="keeps the parameters of epoch 2"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    for w, w0 in zip(clf.coefs_, before, strict=True):
        np.testing.assert_array_equal(w, w0)
    assert np.isfinite(clf.predict_proba(X)).all()


# ------------------------------------------------------------- interruption
def _interrupt_call(monkeypatch, k):
    """Ctrl-C after the k-th kernel call of training has changed the parameters."""
    real, calls = Network.train_epoch, []

    def interrupted(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == k:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(Network, "train_epoch", interrupted)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_interrupted_fit_resumes_from_its_checkpoint_exactly(
    small, tmp_path, monkeypatch, solver
):
    X, y = small  # 300 samples: one kernel call an epoch
    checkpoint = tmp_path / "run.joblib"
    clf = quick(max_iter=5, solver=solver)
    _interrupt_call(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y, checkpoint=checkpoint)
    monkeypatch.undo()
    saved = joblib.load(checkpoint)
    assert clf.n_iter_ == saved.n_iter_ == 2 and len(clf.loss_curve_) == 2
    for w, w_saved in zip(clf.coefs_, saved.coefs_, strict=True):
        np.testing.assert_array_equal(w, w_saved)
    saved.set_params(warm_start=True, max_iter=3).fit(X, y, checkpoint=checkpoint)
    whole = quick(max_iter=5, solver=solver).fit(X, y)
    assert saved.loss_curve_ == whole.loss_curve_
    for w, w_whole in zip(saved.coefs_, whole.coefs_, strict=True):
        np.testing.assert_array_equal(w, w_whole)
    assert joblib.load(checkpoint).n_iter_ == 5


def test_interrupted_image_training_resumes_exactly(tmp_path, monkeypatch):
    task = load_task("digits")
    save = tmp_path / "run.joblib"
    train = dict(epochs=4, test_duration=0.1, log=lambda line: None)
    _interrupt_call(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        train_on_images(task, quick(hidden_layer_sizes=(20,)), save=save, **train)
    monkeypatch.undo()
    resumed = joblib.load(save)
    assert resumed.n_iter_ == 2
    history = train_on_images(task, resumed, save=save, **train)
    whole = quick(hidden_layer_sizes=(20,))
    assert history == [
        {**h, "train_seconds": history[0]["train_seconds"]}
        for h in train_on_images(task, whole, **train)
    ]
    np.testing.assert_array_equal(resumed.coefs_[0], whole.coefs_[0])


def test_ctrl_c_on_the_command_line_keeps_the_last_epoch(tmp_path):
    model = tmp_path / "model.joblib"
    # As from a terminal: a shell starts background jobs with SIGINT ignored,
    # which their children inherit (a CI run started with `&`), and Python
    # then installs no KeyboardInterrupt handler of its own.
    as_from_a_terminal = (
        "import runpy, signal, sys; "
        "signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'spikeclf'; runpy.run_module('spikeclf', run_name='__main__')"
    )
    command = [sys.executable, "-c", as_from_a_terminal, "train", "--hidden", "20"]
    command += ["--output", str(model), "--test-duration", "0.1"]
    run = subprocess.Popen(
        [*command, "--epochs", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    while not model.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    done = joblib.load(model).n_iter_
    assert done >= 1
    resumed = subprocess.run(
        [*command, "--epochs", str(done + 1), "--resume"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {model} after epoch {done}" in resumed.stdout
    assert joblib.load(model).n_iter_ == done + 1
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


# -------------------------------------------------------------- determinism
def test_grid_search_gives_the_same_scores_with_one_or_two_workers(small):
    X, y = small
    grid = {"lateral_inhibition": [(-0.4, -1.0), (0.0, -1.0)]}
    scores = [
        GridSearchCV(quick(max_iter=2), grid, cv=2, n_jobs=n_jobs)
        .fit(X, y)
        .cv_results_["mean_test_score"]
        for n_jobs in (1, 2)
    ]
    np.testing.assert_array_equal(*scores)


def test_cli_resume_needs_an_output(capsys):
    from spikeclf.cli import main

    assert main(["train", "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "spikeclf train: error: --resume continues the run saved in --output: give both"
    )


def test_streams_of_one_sample_are_checked_like_many():
    with pytest.raises(TypeError, match="single structured array"):
        quick().fit(make_events([0, 1], [0, 0], [0, 5]), [0, 1])


def test_encoder_and_dvs_kernels_check_their_arrays():
    from spikeclf._dvs import dvs_events
    from spikeclf._encoders import poisson_events

    images = np.ones((2, 4))
    out_pixel, out_t = np.zeros(5, np.int32), np.zeros(5, np.int64)
    with pytest.raises(ValueError, match="indptr must run from 0 to len"):
        poisson_events(
            images, np.array([0, 3, 9]), np.ones(7), np.zeros(5), 1e3, np.zeros(4),
            out_pixel, out_t,
        )  # fmt: skip
    scene, frames = np.zeros((10, 10)), np.zeros(3)
    th = np.full(16, 0.3)
    outputs = np.zeros(8, np.int32), np.zeros(8), np.zeros(8, np.uint8)
    with pytest.raises(ValueError, match="looks outside the scene"):
        # A 4 x 4 sensor shifted 7 pixels right reads columns 7..11 of a 10-wide scene.
        dvs_events(scene, frames - 7, frames, np.arange(3.0), th, th, 4, 0.05, 0.0,
                   *outputs)  # fmt: skip
    assert dvs_events(scene, frames - 5, frames, np.arange(3.0), th, th, 4, 0.05, 0.0,
                      *outputs) == 0  # fmt: skip


def test_ctrl_c_hints_fit_the_command(monkeypatch, tmp_path, capsys):
    from spikeclf.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("spikeclf.datasets.make_nmnist_like", interrupted)
    assert main(["make-nmnist", "--output", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "run the same command to write the rest" in err and "--resume" not in err


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=oct)
def test_atomically_written_files_get_the_users_permissions(tmp_path, umask):
    """Checkpoints and --output files: 0o666 & ~umask, like the user's other
    files, not the 0o600 of the temporary file they are written as."""
    from spikeclf._persistence import dump_atomically

    previous = os.umask(umask)
    try:
        dump_atomically({"weights": [1, 2]}, tmp_path / "model.joblib")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "model.joblib").st_mode) == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["model.joblib"]  # no temporary file left
