"""NIR export and import: round trips, NIR's own reader, NIR's neuron semantics."""

import warnings

import numpy as np
import pytest

from spikeclf import (
    SpikingCNNClassifier,
    SpikingMLPClassifier,
    load_digits_events,
    make_events,
)
from spikeclf._reference import simulate_reference
from spikeclf.events import check_events

nir = pytest.importorskip("nir", reason="the nir package is not installed")
from spikeclf.nir import NIRExportWarning, from_nir, to_nir  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_events(return_X_y=True)
    return X[:300], y[:300], X[300:420], y[300:420]


def fitted(digits, **params):
    X, y, _, _ = digits
    params = {"hidden_layer_sizes": (30,), "max_iter": 2, "random_state": 0, **params}
    return SpikingMLPClassifier(**params).fit(X, y)


def export_with(clf, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRExportWarning)
        return to_nir(clf, **options)


def export(clf):
    return export_with(clf)


def outputs(clf, X):
    result = clf._simulate(X)
    return result.counts, result.v


@pytest.mark.parametrize(
    "params",
    [
        {"lateral_inhibition": (0.0, 0.0), "refractory": 0.0},
        {"lateral_inhibition": (0.0, 0.0)},
        {},  # the paper's WTA, read back from the metadata
        {"hidden_layer_sizes": (20, 15)},
        {"average": 1, "max_iter": 3},  # the averaged parameters are what predicts
    ],
)
def test_round_trip_through_a_file_gives_identical_spike_counts(
    digits, params, tmp_path
):
    clf = fitted(digits, **params)
    path = tmp_path / "model.nir"
    nir.write(path, export(clf))
    imported = from_nir(path)
    X_test = digits[2]
    counts, v = outputs(clf, X_test)
    counts_back, v_back = outputs(imported, X_test)
    assert counts.sum() > 0
    np.testing.assert_array_equal(counts_back, counts)
    np.testing.assert_array_equal(v_back, v)
    np.testing.assert_array_equal(imported.predict(X_test), clf.predict(X_test))
    assert imported.get_params()["lateral_inhibition"] == tuple(clf.network_.kappa)
    assert imported.sensor_size_ == clf.sensor_size_


def test_unit_thresholds_give_the_same_spikes(digits):
    clf = fitted(digits)
    graph = export_with(clf, unit_thresholds=True)
    assert np.all(graph.nodes["lif_0"].v_threshold == 1.0)
    imported = from_nir(graph)
    np.testing.assert_allclose(
        imported.coefs_[0], clf.coefs_[0] / clf.thresholds_[0], rtol=1e-15
    )
    X_test = digits[2]
    counts, v = outputs(clf, X_test)
    counts_unit, v_unit = outputs(imported, X_test)
    assert counts.sum() > 0
    # Equal up to rounding: a potential that lands exactly on its threshold in one
    # network may land a hair below it in the other; none did on these samples.
    np.testing.assert_array_equal(counts_unit, counts)
    np.testing.assert_allclose(v_unit, v / clf.thresholds_[-1], atol=1e-9)


def test_time_step_convention_of_r(digits):
    clf = fitted(digits)
    graph = export_with(clf, dt=1e-4)
    np.testing.assert_allclose(graph.nodes["lif_0"].r, clf.tau / 1e-4)
    X_test = digits[2]
    counts, _ = outputs(clf, X_test)
    np.testing.assert_array_equal(outputs(from_nir(graph), X_test)[0], counts)
    graph.metadata = {}  # a foreign graph: the step must be given
    foreign = from_nir(graph, dt=1e-4, sensor_size=(8, 8, 1))
    np.testing.assert_array_equal(outputs(foreign, X_test)[0], counts)
    assert np.allclose(from_nir(graph).coefs_[0], clf.coefs_[0] / 1e-4)


def test_recurrent_inhibition_is_nirs_form_of_the_wta(digits, tmp_path):
    clf = fitted(digits, refractory=0.0)
    graph = export_with(clf, lateral_inhibition="recurrent")
    loop = graph.nodes["inhibition_0"].weight
    th = clf.thresholds_[0]
    np.testing.assert_allclose(loop[1, 0], -0.4 * th[1])
    assert np.all(np.diag(loop) == 0)
    assert ("lif_0", "inhibition_0") in graph.edges
    nir.write(tmp_path / "m.nir", graph)
    X_test = digits[2]
    counts, _ = outputs(clf, X_test)
    # With spikeclf's metadata: exact. As NIR defines it (the loop carries the
    # inhibition, reset to 0, no lower bound): the kappa read off the loop.
    np.testing.assert_array_equal(
        outputs(from_nir(tmp_path / "m.nir"), X_test)[0], counts
    )
    plain = from_nir(tmp_path / "m.nir", extensions=False)
    np.testing.assert_allclose(plain.network_.kappa, clf.network_.kappa, rtol=1e-12)
    no_loop = from_nir(export(clf), extensions=False)
    assert list(no_loop.network_.kappa) == [0.0, 0.0]
    # The loop is what keeps the accuracy where NIR cannot say "winner-take-all".
    y_test = digits[3]
    assert plain.score(X_test, y_test) > no_loop.score(X_test, y_test) + 0.1


def test_other_recurrent_connections_are_refused():
    graph, _ = hand_made_graph()
    lif_name = [n for n, node in graph.nodes.items() if isinstance(node, nir.LIF)][0]
    graph.nodes["loop"] = nir.Linear(
        np.array([[0, -0.1, -0.2], [-0.1, 0, -0.1], [-0.1, -0.1, 0.0]])
    )
    graph.edges += [(lif_name, "loop"), ("loop", lif_name)]
    with pytest.raises(ValueError, match="one kappa in"):
        from_nir(graph)
    graph.nodes["loop"] = nir.Linear(np.ones((3, 3)))
    with pytest.raises(ValueError, match="zero diagonal"):
        from_nir(graph)


def test_string_labels_survive_the_file(digits, tmp_path):
    X, y, X_test, _ = digits
    labels = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = SpikingMLPClassifier(hidden_layer_sizes=(20,), max_iter=1, random_state=0)
    clf.fit(X, labels[y])
    nir.write(tmp_path / "m.nir", export(clf))
    imported = from_nir(tmp_path / "m.nir")
    np.testing.assert_array_equal(imported.classes_, clf.classes_)
    np.testing.assert_array_equal(imported.predict(X_test), clf.predict(X_test))


def test_graph_passes_nirs_own_checks(digits, tmp_path):
    clf = fitted(digits)
    graph = export(clf)
    graph.validate_structure()
    nir.write(tmp_path / "m.nir", graph)
    read = nir.read(tmp_path / "m.nir", type_check=True)
    assert set(read.nodes) == set(graph.nodes)
    lif = read.nodes["lif_0"]
    assert isinstance(lif, nir.LIF)
    np.testing.assert_array_equal(lif.v_threshold, clf.thresholds_[0])
    np.testing.assert_array_equal(read.nodes["linear_0"].weight, clf.coefs_[0].T)
    np.testing.assert_array_equal(lif.r, lif.tau)  # a spike of weight w adds w
    assert tuple(read.nodes["input"].input_type["input"]) == (64,)
    assert tuple(read.metadata["spikeclf_sensor_size"]) == (8, 8, 1)


def test_export_warns_about_what_nir_leaves_out(digits):
    clf = fitted(digits)
    with pytest.warns(NIRExportWarning, match="winner-take-all.*refractory"):
        to_nir(clf)
    plain = fitted(digits, lateral_inhibition=(0.0, 0.0), refractory=0.0)
    with pytest.warns(NIRExportWarning) as record:
        to_nir(plain)
    assert "winner-take-all" not in str(record[0].message)
    assert "subtractive reset" in str(record[0].message)


def test_without_extensions_the_graph_runs_as_nir_defines_it(digits):
    clf = fitted(digits)
    imported = from_nir(export(clf), extensions=False)
    assert imported.network_.reset == "zero"
    assert not imported.network_.lower_bound
    assert list(imported.network_.kappa) == [0.0, 0.0]
    X_test = digits[2][:10]
    packed = check_events(X_test, clf.sensor_size_)
    counts, _ = outputs(imported, X_test)
    n_layers = len(clf.coefs_)
    for i in range(packed.n_samples):
        channel, t = packed.sample(i)
        ref = simulate_reference(
            channel,
            t,
            clf.coefs_,
            clf.thresholds_,
            [clf.tau * 1e6] * n_layers,
            [0.0] * n_layers,
            [0.0] * n_layers,
            reset="zero",
            lower_bound=False,
        )
        np.testing.assert_array_equal(counts[i], ref["counts"][-1])
    assert counts.sum() > 0


def hand_made_graph(r_over_tau=1.0, bias=None, v_leak=0.0, tau=(0.02, 0.02)):
    """A 4-3-2 graph as another library would write it: flat input, Affine."""
    rng = np.random.default_rng(0)
    w0, w1 = rng.uniform(0, 1, (3, 4)), rng.uniform(0, 1, (2, 3))

    def lif(n, tau):
        return nir.LIF(
            tau=np.full(n, tau),
            r=np.full(n, tau * r_over_tau),
            v_leak=np.full(n, v_leak),
            v_threshold=np.full(n, 0.9),
        )

    first = nir.Linear(w0) if bias is None else nir.Affine(w0, np.full(3, bias))
    graph = nir.NIRGraph.from_list(
        first, lif(3, tau[0]), nir.Linear(w1), lif(2, tau[1])
    )
    return graph, (w0, w1)


def test_import_of_an_input_with_a_shape_and_a_flatten_node():
    rng = np.random.default_rng(1)
    shape = np.array([2, 3, 4])  # (polarities, height, width)
    w = rng.uniform(0, 1, (5, 24))
    lif = nir.LIF(
        tau=np.full(5, 0.02),
        r=np.full(5, 0.02),
        v_leak=np.zeros(5),
        v_threshold=np.full(5, 0.9),
    )
    graph = nir.NIRGraph.from_list(
        nir.Input(shape), nir.Flatten({"input": shape}, start_dim=0), nir.Linear(w), lif
    )
    clf = from_nir(graph)
    assert clf.sensor_size_ == (4, 3, 2)
    np.testing.assert_array_equal(clf.coefs_[0], w.T)
    # Event (x=1, y=2, p=1) is element [1, 2, 1] of the (2, 3, 4) input.
    one = make_events(x=[1] * 5, y=[2] * 5, t=np.arange(5) * 10, p=[1] * 5)
    counts, _ = outputs(clf, [one])
    assert counts.sum() > 0
    np.testing.assert_array_equal(counts[0] > 0, w[:, 1 + 4 * (2 + 3 * 1)] >= 0.9 / 5)
    with pytest.raises(ValueError, match="needs a Flatten"):
        from_nir(
            nir.NIRGraph.from_list(
                nir.Input(shape), nir.Linear(w), lif, type_check=False
            )
        )


def test_import_of_a_foreign_graph_scales_by_r_over_tau():
    graph, (w0, w1) = hand_made_graph(r_over_tau=2.0, bias=0.0)
    clf = from_nir(graph)
    assert clf.sensor_size_ == (4, 1, 1)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_allclose(clf.coefs_[0], 2.0 * w0.T)
    np.testing.assert_allclose(clf.coefs_[1], 2.0 * w1.T)
    events = make_events(x=[0, 1, 2, 3] * 5, y=[0] * 20, t=np.arange(20) * 100)
    counts, _ = outputs(clf, [events])
    ref = simulate_reference(
        check_events([events], (4, 1, 1)).channel,
        np.arange(20) * 100.0,
        clf.coefs_,
        clf.thresholds_,
        [2e4, 2e4],
        [0.0, 0.0],
        [0.0, 0.0],
        reset="zero",
        lower_bound=False,
    )
    np.testing.assert_array_equal(counts[0], ref["counts"][-1])
    assert counts.sum() > 0


@pytest.mark.parametrize(
    "graph_kw, match",
    [
        ({"bias": 0.1}, "bias is a constant current"),
        ({"v_leak": 0.2}, "leak to 0"),
        ({"tau": (0.02, 0.05)}, "one tau for the whole network"),
    ],
)
def test_unsupported_graphs_are_refused_by_name(graph_kw, match):
    graph, _ = hand_made_graph(**graph_kw)
    with pytest.raises(ValueError, match=match):
        from_nir(graph)


def test_unsupported_nodes_are_refused_by_name():
    w = np.ones((2, 3))
    graph = nir.NIRGraph.from_list(
        nir.Linear(w), nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2))
    )
    with pytest.raises(ValueError, match="'li' is a LI: spikeclf simulates LIF"):
        from_nir(graph)
    graph = nir.NIRGraph.from_list(nir.Linear(w))
    with pytest.raises(ValueError, match="pairs"):
        from_nir(graph)


def test_sensor_size_and_classes_are_checked():
    graph, _ = hand_made_graph()
    assert from_nir(graph, sensor_size=(2, 2, 1)).sensor_size_ == (2, 2, 1)
    with pytest.raises(ValueError, match="channels"):
        from_nir(graph, sensor_size=(3, 2, 1))
    with pytest.raises(ValueError, match="3 labels, the graph has 2 outputs"):
        from_nir(graph, classes=["a", "b", "c"])
    assert list(from_nir(graph, classes=["a", "b"]).classes_) == ["a", "b"]


def test_export_needs_a_fitted_spiking_mlp():
    with pytest.raises(ValueError, match="not fitted"):
        to_nir(SpikingMLPClassifier())
    with pytest.raises(ValueError, match="SpikingCNNClassifier is not fitted"):
        to_nir(SpikingCNNClassifier())
    with pytest.raises(TypeError, match="SpikingMLPClassifier"):
        to_nir(object())


def test_nir_neurons_cannot_be_trained_but_a_round_trip_can(digits):
    X, y, _, _ = digits
    graph, _ = hand_made_graph()
    foreign = from_nir(graph, sensor_size=(2, 2, 1))
    foreign.set_params(warm_start=True, max_iter=1)
    stream = [make_events(x=[0, 1], y=[0, 1], t=[0, 10])] * 2
    with pytest.raises(ValueError, match="cannot train"):
        foreign.fit(stream, [0, 1])
    clf = from_nir(export(fitted(digits)))
    clf.set_params(warm_start=True, max_iter=1)
    before = clf.coefs_[0].copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 1
    assert not np.array_equal(clf.coefs_[0], before)


# ---------------------------------------------------------------- spiking CNN


@pytest.fixture(scope="module")
def cnn(digits):
    X, y, _, _ = digits
    return SpikingCNNClassifier("4c3-p2-20", max_iter=1, random_state=0).fit(X, y)


def assert_same_outputs(clf, imported, X_test):
    counts, v = outputs(clf, X_test)
    counts_back, v_back = outputs(imported, X_test)
    assert counts.sum() > 0
    np.testing.assert_array_equal(counts_back, counts)
    np.testing.assert_array_equal(v_back, v)


def test_cnn_round_trip_through_a_file_is_exact(cnn, digits, tmp_path):
    X_test = digits[2]
    nir.write(tmp_path / "cnn.nir", export(cnn))
    for imported in (from_nir(export(cnn)), from_nir(tmp_path / "cnn.nir")):
        assert isinstance(imported, SpikingCNNClassifier)
        assert_same_outputs(cnn, imported, X_test)
        np.testing.assert_array_equal(
            imported.predict_proba(X_test), cnn.predict_proba(X_test)
        )
        for mine, back in zip(cnn.coefs_, imported.coefs_, strict=True):
            np.testing.assert_array_equal(back, mine)
        for mine, back in zip(cnn.thresholds_, imported.thresholds_, strict=True):
            np.testing.assert_array_equal(back, mine)
        params = imported.get_params()
        assert params["layers"] == "4c3-p2-20"
        assert params["lateral_inhibition"] == (-0.4, -0.4, -1.0)
        assert params["pool_threshold"] == 0.8
        assert imported.sensor_size_ == cnn.sensor_size_ == (8, 8, 1)
        np.testing.assert_array_equal(imported.classes_, cnn.classes_)


def test_cnn_graph_has_nirs_node_types_and_shapes(cnn, tmp_path):
    graph = export(cnn)
    graph.validate_structure()
    nir.write(tmp_path / "cnn.nir", graph)
    read = nir.read(tmp_path / "cnn.nir", type_check=True)
    chain = ["input", "conv_0", "lif_conv_0", "pool_1", "lif_pool_1", "flatten"]
    chain += ["linear_0", "lif_0", "linear_1", "lif_1", "output"]
    assert read.edges == list(zip(chain[:-1], chain[1:], strict=True))
    types = [nir.Input, nir.Conv2d, nir.LIF, nir.SumPool2d, nir.LIF, nir.Flatten]
    types += [nir.Linear, nir.LIF, nir.Linear, nir.LIF, nir.Output]
    assert [type(read.nodes[n]) for n in chain] == types
    assert tuple(read.nodes["input"].input_type["input"]) == (1, 8, 8)
    conv = read.nodes["conv_0"]
    np.testing.assert_array_equal(conv.weight, cnn.coefs_[0])  # (C_out, C_in, K, K)
    assert conv.weight.shape == (4, 1, 3, 3)
    assert tuple(conv.input_shape) == (8, 8)
    assert [tuple(np.ravel(v)) for v in (conv.stride, conv.padding)] == [(1, 1), (0, 0)]
    assert tuple(np.ravel(conv.dilation)) == (1, 1) and conv.groups == 1
    np.testing.assert_array_equal(conv.bias, np.zeros(4))
    lif = read.nodes["lif_conv_0"]
    for value in (lif.tau, lif.r, lif.v_leak, lif.v_threshold):
        assert value.shape == (4, 6, 6)
    np.testing.assert_array_equal(lif.v_threshold[:, 2, 3], cnn.thresholds_[0])
    assert lif.metadata["spikeclf_kind"] == "conv"
    pool = read.nodes["pool_1"]
    assert [tuple(np.ravel(v)) for v in (pool.kernel_size, pool.stride)] == [(2, 2)] * 2
    assert read.nodes["lif_pool_1"].v_threshold.shape == (4, 3, 3)
    assert np.all(read.nodes["lif_pool_1"].v_threshold == 0.8)
    assert tuple(read.nodes["flatten"].output_type["output"]) == (36,)
    np.testing.assert_array_equal(read.nodes["linear_0"].weight, cnn.coefs_[1].T)
    assert read.metadata["spikeclf_estimator"] == "SpikingCNNClassifier"


def test_cnn_export_warns_about_what_nir_leaves_out(cnn):
    with pytest.warns(NIRExportWarning, match=r"winner-take-all.*layers \[0, 2, 3\]"):
        to_nir(cnn)


@pytest.mark.parametrize(
    "options",
    [
        {"unit_thresholds": True},
        {"dt": 1e-4},
        {"lateral_inhibition": "recurrent", "unit_thresholds": True, "dt": 1e-4},
    ],
)
def test_cnn_export_options_give_the_same_spikes(cnn, digits, options):
    graph = export_with(cnn, **options)
    counts, v = outputs(cnn, digits[2])
    counts_back, v_back = outputs(from_nir(graph), digits[2])
    assert counts.sum() > 0
    np.testing.assert_array_equal(counts_back, counts)
    unit = options.get("unit_thresholds", False)
    np.testing.assert_allclose(v_back, v / (cnn.thresholds_[-1] if unit else 1))
    if unit:
        assert np.all(graph.nodes["lif_conv_0"].v_threshold == 1.0)
        assert np.all(graph.nodes["lif_pool_1"].v_threshold == 0.8)


def test_cnn_recurrent_inhibition_is_a_1x1_convolution(cnn, digits):
    graph = export_with(cnn, lateral_inhibition="recurrent")
    loop = graph.nodes["inhibition_conv_0"]
    assert isinstance(loop, nir.Conv2d) and loop.weight.shape == (4, 4, 1, 1)
    th = cnn.thresholds_[0]
    np.testing.assert_allclose(loop.weight[2, 0, 0, 0], -0.4 * th[2])
    assert np.all(np.diagonal(loop.weight[:, :, 0, 0]) == 0)
    assert ("lif_conv_0", "inhibition_conv_0") in graph.edges
    # Without spikeclf's value in the metadata, kappa is read off the loop.
    del graph.nodes["lif_conv_0"].metadata["spikeclf_lateral_inhibition"]
    imported = from_nir(graph)
    np.testing.assert_allclose(imported.network_.spatial_kappa, [-0.4, 0.0])
    loop.weight[1, 0, 0, 0] *= 2
    with pytest.raises(ValueError, match="'inhibition_conv_0'.*one kappa"):
        from_nir(graph)


def without_metadata(graph):
    """The graph as another tool writes it: NIR's LIF neurons."""
    for node in graph.nodes.values():
        node.metadata = {}


def spoil(graph, name, **changes):
    for key, value in changes.items():
        setattr(graph.nodes[name], key, value)
    return graph


@pytest.mark.parametrize(
    "spoiled, match",
    [
        (lambda g: spoil(g, "conv_0", bias=np.full(4, 0.1)), "'conv_0'.*bias"),
        (lambda g: spoil(g, "conv_0", stride=(2, 2)), "'conv_0'.*stride"),
        (lambda g: spoil(g, "conv_0", padding=(1, 1)), "'conv_0'.*padding"),
        (lambda g: spoil(g, "conv_0", groups=2), "'conv_0'.*groups"),
        (lambda g: spoil(g, "pool_1", kernel_size=np.array([3, 3])), "kernel_size"),
        (lambda g: spoil(g, "pool_1", stride=np.array([1, 1])), "'pool_1'.*stride"),
        (
            lambda g: g.nodes["lif_conv_0"].v_threshold.__setitem__((1, 0, 0), 9.0),
            "'lif_conv_0'.*differs within feature map 1",
        ),
        (
            lambda g: spoil(g, "lif_conv_0", v_threshold=np.ones((4, 5, 5))),
            "'lif_conv_0'.*expected \\(4, 6, 6\\)",
        ),
        (
            lambda g: spoil(g, "lif_pool_1", metadata={}),
            "differ in their refractory period",
        ),
        (without_metadata, "reset 'zero'.*paper's neuron only"),
    ],
)
def test_cnn_graphs_spikeclf_cannot_simulate_are_refused_by_name(cnn, spoiled, match):
    graph = export(cnn)
    graph.nodes["lif_conv_0"].v_threshold = graph.nodes["lif_conv_0"].v_threshold.copy()
    spoiled(graph)
    with pytest.raises(ValueError, match=match):
        from_nir(graph)


def test_cnn_needs_spikeclfs_neuron(cnn):
    with pytest.raises(ValueError, match="paper's neuron only"):
        from_nir(export(cnn), extensions=False)


def test_cnn_round_trip_on_a_non_square_sensor_with_two_polarities():
    rng = np.random.default_rng(0)
    width, height = 7, 9

    def stream(label):
        x, y = rng.integers(0, width, 300), rng.integers(0, height, 300)
        p = (x + label * y) % 2  # the polarity pattern depends on the label
        return make_events(x=x, y=y, t=np.sort(rng.integers(0, 50_000, 300)), p=p)

    y = np.arange(40) % 2
    X = [stream(label) for label in y]
    clf = SpikingCNNClassifier("3c2-p2-2c2", max_iter=1, alpha=1.0, random_state=0).fit(
        X, y
    )
    graph = export(clf)
    assert tuple(graph.nodes["input"].input_type["input"]) == (2, height, width)
    assert graph.nodes["conv_0"].weight.shape == (3, 2, 2, 2)
    assert graph.nodes["lif_conv_0"].v_threshold.shape == (3, 8, 6)
    assert graph.nodes["lif_pool_1"].v_threshold.shape == (3, 4, 3)
    assert graph.nodes["lif_conv_2"].v_threshold.shape == (2, 3, 2)
    imported = from_nir(graph)
    assert imported.get_params()["layers"] == "3c2-p2-2c2"
    assert_same_outputs(clf, imported, X)
