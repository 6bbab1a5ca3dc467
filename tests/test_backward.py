"""The training kernel against the dense NumPy reference; derivatives of Eq. 6-8."""

import numpy as np
import pytest

from spikeclf._network import Network
from spikeclf._reference import train_batch_reference, train_step_reference
from spikeclf.events import check_events

TAU, T_REF, T_END = 20_000.0, 1_000.0, 40_000.0


def transfer(s, th, kappa, sigma):
    """Eq. 6 solved exactly: A a = s / th with A the matrix of Eq. 8."""
    n = len(s)
    A = (1 + sigma * kappa) * np.eye(n) - sigma * kappa * np.ones((n, n))
    return np.linalg.solve(A, s / th)


def sherman_morrison(e, kappa, sigma):
    """The closed form the kernel uses (SPEC section 3)."""
    c, d = 1 + sigma * kappa, sigma * kappa
    return (e + d * e.sum() / (c - d * len(e))) / c


@pytest.mark.parametrize("kappa", [0.0, -0.4, -1.0])
@pytest.mark.parametrize("n", [1, 2, 7, 30])
def test_closed_form_inverse_equals_a_direct_solve_of_eq8(kappa, n):
    rng = np.random.default_rng(n)
    e, sigma = rng.normal(size=n), 0.5
    A = (1 + sigma * kappa) * np.eye(n) - sigma * kappa * np.ones((n, n))
    np.testing.assert_allclose(sherman_morrison(e, kappa, sigma), np.linalg.solve(A, e))


@pytest.mark.parametrize("kappa", [0.0, -0.4, -1.0])
def test_derivatives_match_finite_differences_of_the_transfer_function(kappa):
    rng = np.random.default_rng(0)
    n, m, sigma, h = 6, 9, 0.5, 1e-6
    W, x = rng.normal(size=(m, n)), rng.uniform(0, 2, m)
    th, y = rng.uniform(0.5, 2, n), np.eye(n)[2]

    def loss(W=W, x=x, th=th):
        a = transfer(W.T @ x, th, kappa, sigma)
        return 0.5 * np.sum((a - y) ** 2)

    a = transfer(W.T @ x, th, kappa, sigma)
    delta = sherman_morrison(a - y, kappa, sigma) / th  # dL/ds = D A^-1 dL/da
    a_hat = a - sigma * kappa * (a.sum() - a)  # equals s / th (Eq. 6)
    np.testing.assert_allclose(a_hat, W.T @ x / th)

    def numeric(f, p):
        grad = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            up, down = p.copy(), p.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (f(up) - f(down)) / (2 * h)
        return grad

    np.testing.assert_allclose(
        np.outer(x, delta), numeric(lambda p: loss(W=p), W), rtol=1e-5
    )
    np.testing.assert_allclose(
        -delta * a_hat, numeric(lambda p: loss(th=p), th), rtol=1e-5
    )
    np.testing.assert_allclose(W @ delta, numeric(lambda p: loss(x=p), x), rtol=1e-5)


def _stream(rng, n_channels, n_events):
    ev = np.zeros(n_events, dtype=[("x", "i8"), ("y", "i8"), ("t", "f8"), ("p", "i8")])
    ev["x"] = rng.integers(0, n_channels, n_events)
    ev["t"] = np.sort(rng.integers(0, int(T_END), n_events))
    return ev


def _moments(weights):
    return [
        [np.zeros_like(w), np.zeros_like(w), np.zeros(w.shape[1]), np.zeros(w.shape[1])]
        for w in weights
    ]


def _run_kernel(
    packed, target, W, th, th_min, kappa, rho, reg, adam, lr=(0.01, 0.001),
    cross_entropy=False, activity_tau=None, batch_size=1, n_threads=1, **options,
):  # fmt: skip
    """The training kernel on the samples of ``packed`` in order (the targets
    ``target``), updating W and th in place; return its status and losses."""
    targets = np.atleast_1d(target)
    network = Network(W, th, th_min, np.asarray(kappa, float), TAU * 1e-6, T_REF * 1e-6)
    if adam:
        network.moments = [p for layer in _moments(W) for p in layer]
    try:
        result = network.train_epoch(
            packed, np.full(len(targets), T_END), targets, np.arange(len(targets)),
            lr_w=lr[0], lr_th=lr[1], rho=rho, reg_lambda=reg, reg_beta=10.0,
            reg_every=len(targets), sigma=0.5,
            adam=(0.9, 0.999, 1e-8) if adam else None,
            output_loss="cross_entropy" if cross_entropy else "max_normalized",
            activity_tau=None if activity_tau is None else activity_tau * 1e-6,
            batch_size=batch_size, n_threads=n_threads, **options,
        )  # fmt: skip
    except FloatingPointError:
        return -2, None
    return 0, result.loss[0] if len(targets) == 1 else result.loss


@pytest.mark.parametrize("output_loss", ["max_normalized", "cross_entropy"])
@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
@pytest.mark.parametrize("rho", [0.0, 0.01], ids=["no-rho", "rho"])
@pytest.mark.parametrize(
    "sizes, kappa",
    [([12, 4], [-1.0]), ([12, 9, 4], [-0.4, -1.0]), ([12, 9, 7, 4], [-0.4, 0.0, -1.0])],
    ids=["0-hidden", "1-hidden", "2-hidden"],
)
@pytest.mark.parametrize("seed", range(3))
def test_one_training_step_matches_the_reference(
    seed, sizes, kappa, rho, adam, output_loss
):
    _check_step_against_the_reference(seed, sizes, kappa, rho, adam, output_loss)


@pytest.mark.parametrize("activity_tau", [3 * TAU, np.inf], ids=["3tau", "counts"])
@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
@pytest.mark.parametrize(
    "sizes, kappa",
    [([12, 9, 4], [-0.4, -1.0]), ([12, 9, 7, 4], [-0.4, 0.0, -1.0])],
    ids=["1-hidden", "2-hidden"],
)
@pytest.mark.parametrize("seed", range(2))
def test_a_training_step_with_other_activity_time_constants(
    seed, sizes, kappa, adam, activity_tau
):
    _check_step_against_the_reference(
        seed, sizes, kappa, 0.01, adam, "cross_entropy", activity_tau
    )


def _check_step_against_the_reference(
    seed, sizes, kappa, rho, adam, output_loss, activity_tau=None
):
    rng = np.random.default_rng(seed)
    W = [
        rng.uniform(-0.3, 0.8, (m, n))
        for m, n in zip(sizes[:-1], sizes[1:], strict=False)
    ]
    th = [rng.uniform(0.5, 1.5, n) for n in sizes[1:]]
    th_min = [t * 0.9 for t in th]
    rhos = [rho] * (len(W) - 1) + [0.0]
    reg = [0.02] * (len(W) - 1) + [0.0]
    packed = check_events([_stream(rng, sizes[0], 150)], (sizes[0], 1, 1))
    target = int(rng.integers(0, sizes[-1]))
    W_k, th_k = [w.copy() for w in W], [t.copy() for t in th]
    status, loss = _run_kernel(
        packed, target, W_k, th_k, th_min, kappa, rhos, reg, adam,
        cross_entropy=output_loss == "cross_entropy",
        activity_tau=activity_tau,
    )  # fmt: skip
    assert status == 0
    ref = train_step_reference(
        packed.channel,
        packed.t,
        target,
        W,
        th,
        tau=[TAU] * len(W),
        refractory=[T_REF] * len(W),
        kappa=kappa,
        t_end=T_END,
        lr_w=0.01,
        lr_th=0.001,
        rho=rhos,
        th_min=th_min,
        offsets=[np.zeros(t.shape) for t in th],
        adam=dict(step=1, beta1=0.9, beta2=0.999, eps=1e-8, moments=_moments(W))
        if adam
        else None,
        reg_lambda=reg,
        reg_samples=1,
        output_loss=output_loss,
        activity_tau=activity_tau,
    )
    assert loss == pytest.approx(ref["loss"])
    # Adam divides by sqrt(v) + eps: a gradient that is zero but for rounding (the
    # closed form against a solve) moves by up to lr * rounding / eps.
    atol = 1e-8 if adam else 1e-12
    moved = 0.0
    for layer in range(len(W)):
        np.testing.assert_allclose(
            W_k[layer], ref["weights"][layer], rtol=1e-9, atol=atol
        )
        np.testing.assert_allclose(
            th_k[layer], ref["thresholds"][layer], rtol=1e-9, atol=atol
        )
        moved += np.abs(W_k[layer] - W[layer]).max()
    assert moved > 0  # the step did something


def test_diverging_training_is_reported():
    rng = np.random.default_rng(0)
    W, th = [rng.uniform(-0.3, 0.8, (12, 4))], [np.full(4, 0.5)]
    packed = check_events([_stream(rng, 12, 150)], (12, 1, 1))
    status, _ = _run_kernel(
        packed,
        1,
        W,
        th,
        [np.full(4, -np.inf)],
        [-1.0],
        [0.0],
        [0.0],
        False,
        lr=(1e308, 1e308),
    )
    assert status == -2


@pytest.mark.parametrize("output_loss", ["max_normalized", "cross_entropy"])
@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize(
    "sizes, kappa",
    [([12, 9, 4], [-0.4, -1.0]), ([12, 9, 7, 4], [-0.4, 0.0, -1.0])],
    ids=["1-hidden", "2-hidden"],
)
@pytest.mark.parametrize("seed", range(3))
def test_one_batch_step_matches_the_reference(
    seed, sizes, kappa, n_threads, adam, output_loss
):
    """Four samples from the same parameters, their changes combined as
    docs/training.md says: one step on the summed gradients."""
    _check_batch_against_the_reference(seed, sizes, kappa, n_threads, adam, output_loss)


@pytest.mark.parametrize(
    "options",
    [{"output_neurons": "firing"}, {"adam_update": "dense"},
     {"adam_update": "dense", "output_neurons": "firing"}],
)  # fmt: skip
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("seed", range(3))
def test_options_of_the_backward_pass_match_the_reference(seed, batch_size, options):
    _check_batch_against_the_reference(
        seed, [12, 9, 4], [-0.4, -1.0], 2, True, "cross_entropy", batch_size, options
    )


@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
@pytest.mark.parametrize("seed", range(3))
def test_per_layer_learning_rates_match_the_reference(seed, adam):
    """lr_factor multiplies each layer's weight and threshold rates, in the
    steps and in the weight regularization."""
    _check_batch_against_the_reference(
        seed, [12, 9, 7, 4], [-0.4, 0.0, -1.0], 2, adam, "cross_entropy",
        options={"lr_factor": (0.5, 2.0, 10.0)},
    )  # fmt: skip


def test_per_layer_learning_rates_of_one_are_the_default():
    rng = np.random.default_rng(0)
    W = [rng.uniform(-0.3, 0.8, (12, 9)), rng.uniform(-0.3, 0.8, (9, 4))]
    th = [np.full(9, 1.0), np.full(4, 1.0)]
    packed = check_events([_stream(rng, 12, 150) for _ in range(3)], (12, 1, 1))
    runs = []
    for options in ({}, {"lr_factor": (1.0, 1.0)}, {"lr_factor": (1.0, 3.0)}):
        W_k, th_k = [w.copy() for w in W], [t.copy() for t in th]
        _run_kernel(
            packed, [0, 1, 2], W_k, th_k, [t * 0.5 for t in th], [-0.4, -1.0],
            [0.01, 0.0], [0.02, 0.0], True, **options,
        )  # fmt: skip
        runs.append(W_k + th_k)
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not np.array_equal(runs[0][1], runs[2][1])  # the output layer's factor acts


def test_per_layer_learning_rates_need_one_value_per_layer():
    rng = np.random.default_rng(0)
    W, th = [rng.uniform(-0.3, 0.8, (12, 4))], [np.full(4, 1.0)]
    packed = check_events([_stream(rng, 12, 150)], (12, 1, 1))
    message = r"lr_factor needs one value per layer \(1\), got 2"
    with pytest.raises(ValueError, match=message):
        _run_kernel(packed, 1, W, th, [t * 0.5 for t in th], [-1.0], [0.0], [0.0],
                    False, lr_factor=(1.0, 2.0))  # fmt: skip


def _check_batch_against_the_reference(
    seed, sizes, kappa, n_threads, adam, output_loss, batch_size=4, options=None
):
    options = dict(options or {})
    rng = np.random.default_rng(seed)
    W = [
        rng.uniform(-0.3, 0.8, (m, n))
        for m, n in zip(sizes[:-1], sizes[1:], strict=False)
    ]
    th = [rng.uniform(0.5, 1.5, n) for n in sizes[1:]]
    th_min = [t * 0.9 for t in th]
    rhos = [0.01] * (len(W) - 1) + [0.0]
    reg = [0.02] * (len(W) - 1) + [0.0]
    streams = [_stream(rng, sizes[0], 150) for _ in range(batch_size)]
    packed = check_events(streams, (sizes[0], 1, 1))
    targets = rng.integers(0, sizes[-1], batch_size)
    W_k, th_k = [w.copy() for w in W], [t.copy() for t in th]
    status, losses = _run_kernel(
        packed, targets, W_k, th_k, th_min, kappa, rhos, reg, adam,
        cross_entropy=output_loss == "cross_entropy", batch_size=batch_size,
        n_threads=n_threads, **options,
    )  # fmt: skip
    assert status == 0
    samples = [
        (packed.channel[a:b], packed.t[a:b], int(target), T_END)
        for a, b, target in zip(
            packed.indptr[:-1], packed.indptr[1:], targets, strict=True
        )
    ]
    factor = np.asarray(options.pop("lr_factor", 1.0), dtype=float)
    ref = train_batch_reference(
        samples, W, th, tau=[TAU] * len(W), refractory=[T_REF] * len(W),
        kappa=kappa, lr_w=0.01 * factor, lr_th=0.001 * factor, rho=rhos, th_min=th_min,
        offsets=[np.zeros(t.shape) for t in th],
        adam=dict(step=1, beta1=0.9, beta2=0.999, eps=1e-8, moments=_moments(W))
        if adam else None,
        reg_lambda=reg, reg_samples=batch_size, output_loss=output_loss, **options,
    )  # fmt: skip
    np.testing.assert_allclose(losses, ref["loss"], rtol=1e-12)
    atol = 1e-8 if adam else 1e-12  # Adam: see the one-sample test
    for layer in range(len(W)):
        np.testing.assert_allclose(
            W_k[layer], ref["weights"][layer], rtol=1e-9, atol=atol
        )
        np.testing.assert_allclose(
            th_k[layer], ref["thresholds"][layer], rtol=1e-9, atol=atol
        )
    if batch_size == 1:
        return
    # One step on the batch is not four steps one after the other.
    W_1, th_1 = [w.copy() for w in W], [t.copy() for t in th]
    _run_kernel(
        packed, targets, W_1, th_1, th_min, kappa, rhos, reg, adam,
        cross_entropy=output_loss == "cross_entropy", batch_size=1, **options,
    )  # fmt: skip
    assert max(np.abs(a - b).max() for a, b in zip(W_1, W_k, strict=True)) > 1e-6
