"""The CNN training kernel against the NumPy reference, one step at a time."""

import numpy as np
import pytest

from spikeclf._conv import KINDS
from spikeclf._network import ConvNetwork
from spikeclf._reference import simulate_conv_reference, train_step_conv_reference
from spikeclf.events import PackedEvents

TAU, T_REF = 20_000.0, 1_000.0  # microseconds


def _layers(rng, c_in=2, kappa_conv=-0.4, kappa_out=-1.0, maps=3, size=3):
    return [
        {"type": "conv", "weights": rng.uniform(-0.2, 0.9, (maps, c_in, size, size)),
         "thresholds": rng.uniform(0.8, 1.5, maps), "tau": TAU, "refractory": T_REF,
         "kappa": kappa_conv},
        {"type": "pool", "tau": TAU, "refractory": T_REF, "threshold": 0.8},
        {"type": "dense", "weights": rng.uniform(-0.3, 0.8, (maps * 4, 6)),
         "thresholds": rng.uniform(0.6, 1.0, 6), "tau": TAU, "refractory": T_REF,
         "kappa": -0.4},
        {"type": "dense", "weights": rng.uniform(-0.5, 1.0, (6, 4)),
         "thresholds": rng.uniform(0.5, 1.0, 4), "tau": TAU, "refractory": T_REF,
         "kappa": kappa_out},
    ]  # fmt: skip


def _deep_layers(rng, kappa_conv):
    """conv 3x3 - pool - conv 2x2 - dense - output on a (2, 10, 10) input."""
    return [
        {"type": "conv", "weights": rng.uniform(-0.2, 0.9, (3, 2, 3, 3)),
         "thresholds": rng.uniform(0.8, 1.5, 3), "tau": TAU, "refractory": T_REF,
         "kappa": kappa_conv},
        {"type": "pool", "tau": TAU, "refractory": T_REF, "threshold": 0.8},
        {"type": "conv", "weights": rng.uniform(-0.2, 0.9, (4, 3, 2, 2)),
         "thresholds": rng.uniform(0.8, 1.5, 4), "tau": TAU, "refractory": T_REF,
         "kappa": kappa_conv},
        {"type": "dense", "weights": rng.uniform(-0.3, 0.8, (4 * 9, 6)),
         "thresholds": rng.uniform(0.6, 1.0, 6), "tau": TAU, "refractory": T_REF,
         "kappa": -0.4},
        {"type": "dense", "weights": rng.uniform(-0.5, 1.0, (6, 4)),
         "thresholds": rng.uniform(0.5, 1.0, 4), "tau": TAU, "refractory": T_REF,
         "kappa": -1.0},
    ]  # fmt: skip


def _network(layers, input_shape, th_min):
    spatial, kernels, sp_th, sp_min, shape = [], [], [], [], input_shape
    for spec, low in zip(layers, th_min, strict=True):
        if spec["type"] == "conv":
            w = spec["weights"]
            spatial.append([KINDS["conv"], *shape, w.shape[0], w.shape[2]])
            kernels.append(np.ascontiguousarray(w.transpose(1, 2, 3, 0)))
            sp_th.append(np.array(spec["thresholds"], float))
            sp_min.append(np.array(low, float))
            shape = (w.shape[0], shape[1] - w.shape[2] + 1, shape[2] - w.shape[2] + 1)
        elif spec["type"] == "pool":
            spatial.append([KINDS["pool"], *shape, shape[0], 2])
            kernels.append(None)
            sp_th.append(np.full(shape[0], spec["threshold"]))
            sp_min.append(np.zeros(shape[0]))
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
    dense = [(spec, low) for spec, low in zip(layers, th_min, strict=True)
             if spec["type"] == "dense"]  # fmt: skip
    return ConvNetwork(
        input_shape=input_shape,
        spatial=np.array(spatial, np.int64),
        kernels=kernels,
        spatial_thresholds=sp_th,
        spatial_th_min=sp_min,
        spatial_kappa=np.array([s.get("kappa", 0.0) for s in layers[: len(kernels)]]),
        weights=[np.array(s["weights"], float) for s, _ in dense],
        thresholds=[np.array(s["thresholds"], float) for s, _ in dense],
        th_min=[np.array(low, float) for _, low in dense],
        kappa=np.array([s["kappa"] for s, _ in dense]),
        tau=TAU * 1e-6,
        refractory=T_REF * 1e-6,
    )


def _sample(rng, input_shape, n_events=120):
    n_in = int(np.prod(input_shape))
    t = np.sort(rng.choice(50_000, n_events, replace=False)).astype(float)
    return rng.integers(0, n_in, n_events), t


def _packed(channels, t, input_shape):
    c, h, w = input_shape
    return PackedEvents(
        channel=np.asarray(channels, np.int32),
        t=np.asarray(t, float),
        indptr=np.array([0, len(t)], np.int64),
        sensor_size=(w, h, c),
    )


def _step(
    net, channels, t, target, input_shape, *, adam, output_loss, rho, activity_tau=None,
    lr_factor=None,
):  # fmt: skip
    return net.train_epoch(
        _packed(channels, t, input_shape),
        np.array([t[-1]]),
        np.array([target]),
        np.array([0]),
        lr_w=0.01,
        lr_th=0.005,
        rho=rho,
        reg_lambda=[0.0] * len(rho),
        reg_beta=10.0,
        reg_every=10**9,
        sigma=0.5,
        adam=(0.9, 0.999, 1e-8) if adam else None,
        output_loss=output_loss,
        activity_tau=activity_tau,
        lr_factor=lr_factor,
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("output_loss", ["max_normalized", "cross_entropy"])
@pytest.mark.parametrize("deep", [False, True])
@pytest.mark.parametrize("conv_rho", [0.0, 0.002])
def test_one_step_equals_the_reference(seed, adam, output_loss, deep, conv_rho):
    _check_step_against_the_reference(seed, adam, output_loss, deep, conv_rho)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("deep", [False, True])
@pytest.mark.parametrize("activity_tau", [3 * TAU * 1e-6, np.inf])
def test_one_step_with_other_activity_time_constants(seed, adam, deep, activity_tau):
    _check_step_against_the_reference(
        seed, adam, "cross_entropy", deep, 0.002, activity_tau
    )


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("deep", [False, True])
def test_one_step_with_per_layer_learning_rates(seed, adam, deep):
    _check_step_against_the_reference(
        seed, adam, "cross_entropy", deep, 0.002, per_layer_rates=True
    )


def _check_step_against_the_reference(
    seed, adam, output_loss, deep, conv_rho, activity_tau=None, per_layer_rates=False
):
    rng = np.random.default_rng(seed)
    kappa_conv = [-0.4, 0.0][seed % 2]
    if deep:
        input_shape, layers = (2, 10, 10), _deep_layers(rng, kappa_conv)
    else:
        input_shape, layers = (2, 6, 6), _layers(rng, kappa_conv=kappa_conv)
    channels, t = _sample(rng, input_shape, n_events=300 if deep else 120)
    th_min = [0.9 * np.asarray(s["thresholds"]) if "thresholds" in s else None
              for s in layers]  # fmt: skip
    forward = simulate_conv_reference(channels, t, input_shape, layers)
    assert all(c.sum() > 0 for c in forward["counts"][:-1]), "every layer must fire"
    target = int(np.argmin(forward["counts"][-1]))  # a wrong answer: errors everywhere

    # Threshold regularization of the convolution layers only (the reference's
    # dense layers have none).
    rho = [conv_rho if s["type"] == "conv" else 0.0 for s in layers]
    moments = [None if s["type"] == "pool" else
               [np.zeros_like(s["weights"]), np.zeros_like(s["weights"]),
                np.zeros_like(s["thresholds"]), np.zeros_like(s["thresholds"])]
               for s in layers]  # fmt: skip
    # Other factors in every layer (pooling's, which trains nothing, too).
    factor = 0.5 + 0.75 * np.arange(len(layers)) if per_layer_rates else np.ones(1)
    ref = train_step_conv_reference(
        channels, t, target, input_shape, layers, th_min, t_end=t[-1],
        lr_w=0.01 * factor, lr_th=0.005 * factor, output_loss=output_loss, rho=rho,
        activity_tau=None if activity_tau is None else activity_tau * 1e6,
        adam={"step": 1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
              "moments": moments} if adam else None,
    )  # fmt: skip
    net = _network(layers, input_shape, th_min)
    result = _step(net, channels, t, target, input_shape, adam=adam,
                   output_loss=output_loss, rho=rho, activity_tau=activity_tau,
                   lr_factor=tuple(factor) if per_layer_rates else None)  # fmt: skip

    np.testing.assert_allclose(result.loss, [ref["loss"]], rtol=1e-12)
    # atol 1e-6 of a step: Adam's first step, lr g / (|g| + eps), magnifies the
    # rounding of gradients near eps (sums in another order).
    n_sp = len(net.kernels)
    for kernel, th, spec in zip(net.kernels, net.spatial_thresholds, ref["layers"],
                                strict=False):  # fmt: skip
        if kernel is None:
            continue
        np.testing.assert_allclose(kernel.transpose(3, 0, 1, 2), spec["weights"],
                                   rtol=1e-9, atol=1e-8)  # fmt: skip
        np.testing.assert_allclose(th, spec["thresholds"], rtol=1e-9, atol=1e-8)
    for got_w, got_th, spec in zip(net.weights, net.thresholds, ref["layers"][n_sp:],
                                   strict=True):  # fmt: skip
        np.testing.assert_allclose(got_w, spec["weights"], rtol=1e-9, atol=1e-8)
        np.testing.assert_allclose(got_th, spec["thresholds"], rtol=1e-9, atol=1e-8)
    # The step changed the first kernel: the error went all the way down.
    assert not np.allclose(ref["layers"][0]["weights"], layers[0]["weights"])


def test_shared_kernel_gradient_is_the_derivative_of_the_summed_inputs():
    """Finite differences: the kernel gradient of one SGD step is d/dw of
    sum_i c_i s_i(w), s_i the input of conv neuron i through the unfolded
    kernel and c_i = sqrt(N / m_i) delta_i its scaled delta (Eq. 13 summed
    over the positions that share the kernel)."""
    from spikeclf._reference import _activity, _dense_form, _spiked

    rng = np.random.default_rng(3)
    input_shape = (2, 6, 6)
    layers = _layers(rng, kappa_conv=0.0)
    channels, t = _sample(rng, input_shape)
    forward = simulate_conv_reference(channels, t, input_shape, layers)
    target = int(np.argmin(forward["counts"][-1]))
    th_min = [None if s["type"] == "pool" else np.zeros(len(s["thresholds"]))
              for s in layers]  # fmt: skip
    lr = 0.01  # the learning rate of _step
    ref = train_step_conv_reference(
        channels, t, target, input_shape, layers, th_min, t_end=t[-1], lr_w=lr
    )
    net = _network(layers, input_shape, th_min)
    _step(net, channels, t, target, input_shape, adam=False,
          output_loss="max_normalized", rho=[0.0] * 4)  # fmt: skip
    grad = (layers[0]["weights"] - net.kernels[0].transpose(3, 0, 1, 2)) / lr

    events = list(zip(t, channels, strict=True))
    x = _activity(events, 72, t[-1], TAU)
    active = _spiked(events, 72)
    shape_out = forward["shapes"][0]
    _, index = _dense_form(layers[0], input_shape, shape_out)
    connected = index >= 0
    m = (active[:, None] & connected).sum(axis=0)
    n_fan = 3 * 3 * 3  # C_out K K
    c = np.where(m > 0, np.sqrt(n_fan / np.maximum(m, 1)), 0.0) * ref["deltas"][0]
    assert np.count_nonzero(c) > 5

    def summed_inputs(kernel):
        spec = {**layers[0], "weights": kernel}
        matrix, _ = _dense_form(spec, input_shape, shape_out)
        return float(c @ (matrix.T @ np.where(active, x, 0.0)))

    numeric = np.zeros_like(grad)
    step = 1e-6
    for where in np.ndindex(grad.shape):
        plus, minus = layers[0]["weights"].copy(), layers[0]["weights"].copy()
        plus[where] += step
        minus[where] -= step
        numeric[where] = (summed_inputs(plus) - summed_inputs(minus)) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    assert np.abs(grad).max() > 1e-3
