import subprocess
import sys

import numpy as np
import pytest

from spikeclf import __version__
from spikeclf.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"spikeclf {__version__}"


def test_datasets_finds_mnist(mnist_home, capsys):
    assert main(["datasets", "--data-home", str(mnist_home)]) == 0
    out = capsys.readouterr().out
    assert "digits" in out
    assert (
        f"found in {mnist_home / 'mnist'} (60000 train + 10000 test images, "
        "md5 verified)" in out
    )


def test_datasets_says_where_to_put_mnist(tmp_path, capsys):
    assert main(["datasets", "--data-home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "not found: put train-images-idx3-ubyte" in out
        and str(tmp_path / "mnist") in out
    )


def test_corrupted_mnist_is_reported(mnist_home, tmp_path, capsys):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in (mnist_home / "mnist").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    assert main(["datasets", "--data-home", str(tmp_path)]) == 0
    assert "mnist   unusable:" in capsys.readouterr().out


def test_module_entry_point(tmp_path):
    # Run outside the source tree, so the installed (compiled) package is the one used.
    out = subprocess.run(
        [sys.executable, "-m", "spikeclf", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip() == f"spikeclf {__version__}"


def test_unknown_command_fails(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "spikeclf", "fly"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode != 0 and "invalid choice" in result.stderr


def test_train_on_the_built_in_digits(capsys, tmp_path):
    model = tmp_path / "model.joblib"
    args = ["train", "--epochs", "2", "--hidden", "30", "--alpha", "3", "2"]
    options = ["--decay-epochs", "5", "--activity-tau", "inf"]
    assert main([*args, *options, "--output", str(model)]) == 0
    out = capsys.readouterr().out
    assert "MLPClassifier (30,), sgd, learning rate 0.002, alpha (3.0, 2.0)" in out
    accuracy = float(out.split("test accuracy ")[-1].split(",")[0])
    assert accuracy > 0.5  # 2 epochs of a small network: well above chance (0.1)
    import joblib

    clf = joblib.load(model)
    assert clf.n_iter_ == 2 and clf.coefs_[0].shape == (64, 30)
    assert clf.decay_epochs == 5 and clf.activity_tau == np.inf


def test_resume_with_parameter_averaging(capsys, tmp_path):
    import joblib

    model = tmp_path / "mlp.joblib"
    args = ["train", "--hidden", "30", "--output", str(model)]
    assert main([*args, "--epochs", "2"]) == 0
    assert joblib.load(model).average is False
    resumed = [*args, "--epochs", "4", "--resume", "--average", "2"]
    assert main([*resumed, "--average-learning-rate", "0.001"]) == 0
    assert "resuming" in capsys.readouterr().out
    clf = joblib.load(model)
    assert (clf.n_iter_, clf.average, clf.n_averaged_) == (4, 2, 2)
    assert clf.average_learning_rate == 0.001
    assert not np.array_equal(clf.coefs_[0], clf.network_.weights[0])
    # Snapshots every 500 samples as well: a new mean, of more than one an epoch.
    assert main([*args, "--epochs", "5", "--resume", "--average-every", "500"]) == 0
    clf = joblib.load(model)
    per_epoch = clf.t_ // clf.n_iter_
    assert clf.average_every == 500
    assert clf.n_averaged_ == -(-per_epoch // 500) > 1


def test_train_a_cnn_with_elastic_distortion(capsys, tmp_path):
    model = tmp_path / "cnn.joblib"
    args = ["train", "--epochs", "2", "--cnn", "4c3-p2-20", "--elastic"]
    assert main([*args, "--validation", "200", "--output", str(model)]) == 0
    out = capsys.readouterr().out
    assert "SpikingCNNClassifier 4c3-p2-20, adam, learning rate 0.0005" in out
    assert "epoch 2: validation accuracy " in out
    assert "(1147 training, 200 validation, 450 test samples)" in out
    import joblib

    clf = joblib.load(model)
    assert clf.n_iter_ == 2 and clf.sensor_size_ == (8, 8, 1)
    assert clf.t_ == 2 * (1347 - 200)  # the held-out images are not trained on
    assert [w.shape for w in clf.coefs_] == [(4, 1, 3, 3), (36, 20), (20, 10)]


def test_elastic_takes_the_strength_of_the_distortion(tmp_path):
    import joblib

    def kernels(*options):
        model = tmp_path / "cnn.joblib"
        args = ["train", "--epochs", "1", "--cnn", "4c3-p2-20", "--output", str(model)]
        assert main([*args, *options]) == 0
        return joblib.load(model).coefs_[0]

    plain, alpha_0 = kernels(), kernels("--elastic", "0")
    np.testing.assert_array_equal(alpha_0, plain)  # alpha 0 distorts nothing
    simard, alpha_17 = kernels("--elastic"), kernels("--elastic", "17")
    assert not np.array_equal(simard, plain) and not np.array_equal(alpha_17, simard)


def test_cnn_and_elastic_are_refused_on_event_data(capsys):
    assert main(["train", "--dataset", "nmnist", "--cnn", "4c3"]) == 1
    assert "--cnn trains on images" in capsys.readouterr().err


def test_train_without_mnist_says_where_to_put_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("spikeclf.datasets._mnist.MNIST_MIRRORS", ())
    monkeypatch.delenv("SPIKECLF_MNIST_MIRROR", raising=False)
    assert main(["train", "--dataset", "pi-mnist", "--data-home", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spikeclf train: error: MNIST files not found")
    assert len(err.strip().splitlines()) == 1


def test_resume_refuses_options_that_would_change_the_run(capsys, tmp_path):
    import joblib

    model = tmp_path / "mlp.joblib"
    args = ["train", "--hidden", "30", "--output", str(model), "--epochs"]
    assert main([*args, "2", "--seed", "1", "--output-loss", "cross_entropy"]) == 0
    saved = joblib.load(model).coefs_[0]
    capsys.readouterr()
    # Another seed would permute and draw the events of another run.
    assert main([*args, "3", "--resume", "--output-loss", "cross_entropy"]) == 1
    err = capsys.readouterr().err
    assert "--seed 0 (saved: 1)" in err and "--output-loss" not in err
    assert main([*args, "3", "--resume", "--seed", "1", "--learning-rate", "0.01"]) == 1
    err = capsys.readouterr().err
    assert "--output-loss max_normalized (saved: cross_entropy)" in err
    assert "--learning-rate 0.01 (saved: 0.002)" in err
    np.testing.assert_array_equal(joblib.load(model).coefs_[0], saved)
    # What may change between the two commands does.
    resumed = [*args, "3", "--resume", "--seed", "1", "--output-loss", "cross_entropy"]
    assert main([*resumed, "--train-duration", "0.1", "--learning-rate", "0.002"]) == 0
    assert joblib.load(model).n_iter_ == 3


def test_batch_size_reaches_the_classifier_and_resume_keeps_it(capsys, tmp_path):
    import joblib

    model = tmp_path / "mlp.joblib"
    args = ["train", "--hidden", "20", "--output", str(model), "--epochs"]
    assert main([*args, "1", "--batch-size", "4"]) == 0
    assert joblib.load(model).batch_size == 4
    assert main([*args, "2", "--resume", "--batch-size", "8"]) == 1
    assert "--batch-size 8 (saved: 4)" in capsys.readouterr().err
    assert main([*args, "2", "--resume", "--batch-size", "4"]) == 0
    assert joblib.load(model).n_iter_ == 2


def test_learning_rate_scale_and_output_neurons_reach_the_classifier(capsys, tmp_path):
    import joblib

    model = tmp_path / "mlp.joblib"
    args = ["train", "--hidden", "20", "--output", str(model), "--epochs"]
    assert main([*args, "1", "--learning-rate-scale", "1", "3"]) == 0
    assert joblib.load(model).learning_rate_scale == (1.0, 3.0)
    assert main([*args, "2", "--resume", "--learning-rate-scale", "3"]) == 1
    assert "--learning-rate-scale 3 (saved: 1 3)" in capsys.readouterr().err
    assert main([*args, "2", "--resume", "--learning-rate-scale", "1", "3"]) == 0
    assert joblib.load(model).n_iter_ == 2
    assert main([*args, "1", "--output-neurons", "firing"]) == 0
    assert joblib.load(model).output_neurons == "firing"


def test_a_training_run_is_plain_values_that_run_training_does():
    from spikeclf.cli import _build_parser
    from spikeclf.experiments import TrainingRun, run_training

    args = _build_parser().parse_args(["train", "--hidden", "20", "--epochs", "1"])
    run = TrainingRun.from_namespace(args)
    assert (run.hidden, run.epochs, run.dataset) == ([20], 1, "digits")
    assert run.alpha == [3.0, 1.5]  # the command's defaults are given values
    assert "batch_size" not in run.model_options()  # not given: not passed on
    lines = []
    history = run_training(run, log=lines.append)
    assert lines[0].startswith("training SpikingMLPClassifier (20,), sgd")
    assert [h["epoch"] for h in history] == [1] and 0 < history[0]["test_accuracy"]
    with pytest.raises(ValueError, match="--resume continues the run saved in"):
        run_training(TrainingRun(resume=True))
    assert TrainingRun(dataset="mnist").epochs == 20  # the command's default


def test_resume_of_a_finished_run_has_nothing_to_do(capsys, tmp_path):
    model = tmp_path / "mlp.joblib"
    args = ["train", "--hidden", "20", "--output", str(model)]
    assert main(args) == 0  # the digits' default, 30 epochs
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    assert f"nothing to do: {model} has 30 epochs already" in capsys.readouterr().out


def test_recipe_sets_the_parameters_and_a_given_option_overrides_it(tmp_path):
    import joblib

    from spikeclf.cli import _build_parser
    from spikeclf.experiments import TrainingRun

    def run_of(*options):
        args = _build_parser().parse_args(["train", *options])
        return TrainingRun.from_namespace(args)

    fast = run_of("--dataset", "mnist", "--recipe", "fast")
    assert (fast.epochs, fast.output_loss) == (5, "cross_entropy")
    assert fast.learning_rate == 0.003
    assert (fast.decay_epochs, fast.batch_size) == (4.0, 8)
    assert (fast.average, fast.average_every) == (3, 5000)
    assert fast.average_train_duration == 0.1
    given = run_of("--recipe", "fast", "--output-loss", "max_normalized",
                   "--epochs", "3", "--average", "2")  # fmt: skip
    assert (given.output_loss, given.epochs, given.average) == ("max_normalized", 3, 2)
    assert given.learning_rate == 0.003
    # Through to the saved classifier.
    model = tmp_path / "fast.joblib"
    args = ["train", "--recipe", "fast", "--epochs", "1", "--output", str(model)]
    assert main([*args, "--learning-rate", "0.01"]) == 0
    clf = joblib.load(model)
    assert (clf.learning_rate, clf.output_loss) == (0.01, "cross_entropy")
    assert clf.batch_size == 8
    assert (clf.decay_epochs, clf.average, clf.average_every) == (4.0, 3, 5000)


def test_the_paper_recipe_changes_nothing(tmp_path):
    import joblib

    args = ["train", "--hidden", "20", "--epochs", "1", "--output"]
    assert main([*args, str(tmp_path / "plain.joblib")]) == 0
    assert main([*args, str(tmp_path / "paper.joblib"), "--recipe", "paper"]) == 0
    plain, paper = (joblib.load(tmp_path / f"{n}.joblib") for n in ("plain", "paper"))
    assert plain.get_params() == paper.get_params()
    for a, b in zip(plain.coefs_, paper.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_with_the_same_recipe_and_refused_without_it(capsys, tmp_path):
    import joblib

    model = tmp_path / "fast.joblib"
    args = ["train", "--hidden", "20", "--output", str(model), "--epochs"]
    assert main([*args, "1", "--recipe", "fast"]) == 0
    capsys.readouterr()
    assert main([*args, "2", "--resume"]) == 1
    err = capsys.readouterr().err
    assert "--output-loss max_normalized (saved: cross_entropy)" in err
    assert "--learning-rate" not in err  # not given: not checked
    assert "and its --recipe if it had one" in err
    assert joblib.load(model).n_iter_ == 1
    assert main([*args, "2", "--resume", "--recipe", "fast"]) == 0
    assert joblib.load(model).n_iter_ == 2


def test_unknown_recipe_and_recipe_with_a_cnn_are_errors(capsys):
    assert main(["train", "--recipe", "slow"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "spikeclf train: error: unknown recipe 'slow': choose from paper, fast, fast-98"
    )
    assert main(["train", "--recipe", "fast", "--cnn", "4c3"]) == 1
    assert "--recipe sets SpikingMLPClassifier parameters" in capsys.readouterr().err


def test_time_budget_stops_after_the_epoch_that_spends_it(capsys, tmp_path):
    import joblib

    from spikeclf.experiments import encode_test_set, load_task

    model = tmp_path / "budget.joblib"
    args = ["train", "--hidden", "20", "--epochs", "5", "--output", str(model)]
    # Any epoch takes longer than a microsecond: the first is the last.
    assert main([*args, "--time-budget", "1e-6"]) == 0
    out = capsys.readouterr().out
    assert "time budget of 1e-06 s spent" in out and "by epoch 1 of 5" in out
    assert "epoch 1: test accuracy" in out and "model saved to" in out
    clf = joblib.load(model)
    assert clf.n_iter_ == 1 < 5
    task = load_task("digits")
    predicted = clf.predict(encode_test_set(task, duration=0.05)[:20])
    assert predicted.shape == (20,) and set(predicted) <= set(task.y_train)
    # Resumed without a budget, it is the run that never had one, bit for bit.
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    whole = tmp_path / "whole.joblib"
    assert main([*args[:-1], str(whole), "--epochs", "2"]) == 0
    for a, b in zip(joblib.load(model).coefs_, joblib.load(whole).coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_budget_larger_than_the_run_changes_nothing(tmp_path):
    import joblib

    args = ["train", "--hidden", "20", "--epochs", "2", "--output"]
    assert main([*args, str(tmp_path / "a.joblib"), "--time-budget", "1e6"]) == 0
    assert joblib.load(tmp_path / "a.joblib").n_iter_ == 2


@pytest.mark.parametrize("budget", ["0", "-3", "nan"])
def test_a_time_budget_must_be_positive(budget, capsys):
    assert main(["train", "--time-budget", budget]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"spikeclf train: error: --time-budget {budget}: give a ")


def test_averaged_epochs_take_their_own_presentations(tmp_path):
    """One command with --average-train-duration is the two-command finish."""
    import joblib

    def run(name, *options):
        model = tmp_path / name
        args = ["train", "--hidden", "20", "--output", str(model), "--average", "2"]
        assert main([*args, *options]) == 0
        return joblib.load(model)

    one = run("one.joblib", "--epochs", "3", "--average-train-duration", "0.1")
    run("two.joblib", "--epochs", "2")
    two = run("two.joblib", "--epochs", "3", "--resume", "--train-duration", "0.1")
    plain = run("plain.joblib", "--epochs", "3")
    for a, b in zip(one.coefs_, two.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    # The averaged epoch saw other events: the longer presentations.
    assert not np.array_equal(one.coefs_[0], plain.coefs_[0])
    assert one.epoch_stats_[2]["synops"] > 1.5 * plain.epoch_stats_[2]["synops"]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--average-train-duration", "0.1"], "give --average N too"),
        (["--average", "1", "--average-train-duration", "0"], "give a positive"),
        (["--average", "1", "--average-window", "-3"], "--average-window -3: give"),
        (
            ["--average", "1", "--average-window", "500"],
            "--average-window is for nmnist",
        ),
        (["--dataset", "nmnist", "--average-train-duration", "0.1"], "give nmnist"),
    ],
)
def test_averaged_presentations_are_checked_before_training(options, message, capsys):
    assert main(["train", "--hidden", "20", "--epochs", "2", *options]) == 1
    captured = capsys.readouterr()
    assert message in captured.err and "epoch 1" not in captured.out
