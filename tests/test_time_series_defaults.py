"""What the classifier and the regressor do with numeric series by default: the
convolutional front end for long series (``downsample``), each channel's
within-series shape beside its values (``series_normalize``), each series' scale
where series differ in it by orders of magnitude (``series_scale``), long series
warped in time while the classifier trains (``window_warp``) and read by a small
convolutional network beside the recurrent layer (``conv_branch``); the classifier's
predictions read off the nearest training series (``readout``); and on request
their step-to-step changes (``series_differences``)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from sklearn_rnn import RNNClassifier, RNNRegressor, load
from sklearn_rnn._reader import SequenceReader
from sklearn_rnn.nn import ManyToOneNet, NearestReadout, window_warp
from sklearn_rnn.nn.encoder import ConvBranch, ConvFrontEnd


def long_series(n=48, seed=0):
    """Series of 120-300 steps; the label says whether a bump sits in the first or
    the second half, which no per-channel summary of the whole series tells."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        length = int(rng.integers(120, 300))
        x = rng.normal(scale=0.3, size=(length, 1)).astype(np.float32)
        where = int(rng.integers(5, length // 2 - 15))
        if i % 2:
            where += length // 2
        x[where : where + 10, 0] += 3.0
        X.append(x)
        y.append(i % 2)
    return X, np.array(y)


@pytest.mark.parametrize("stride", [1, 2, 5])
def test_each_sequence_gives_what_it_gives_alone(stride):
    torch.manual_seed(0)
    front = ConvFrontEnd(3, 4, stride)
    lengths = torch.tensor([23, 11, 5, 1])
    batch = torch.zeros(4, 23, 3)
    for i, n in enumerate(lengths.tolist()):
        batch[i, :n] = torch.randn(n, 3)
    out, new_lengths = front(batch, lengths)
    assert new_lengths.tolist() == [-(-n // stride) for n in lengths.tolist()]
    # at most one step past the longest new length (the padding does not depend on
    # the batch's length, for export), zero like every step past a length
    assert out.shape[0] == 4 and out.shape[2] == 4
    assert out.shape[1] in (-(-23 // stride), -(-23 // stride) + 1)
    for i, n in enumerate(lengths.tolist()):
        alone, no_lengths = front(batch[i : i + 1, :n], None)
        assert no_lengths is None and alone.shape[1] == new_lengths[i]
        torch.testing.assert_close(out[i, : new_lengths[i]], alone[0])
        assert not out[i, new_lengths[i] :].any()  # zero past the new length


def test_auto_downsamples_long_series_and_leaves_short_ones_and_text():
    X, y = long_series()
    clf = RNNClassifier(hidden_size=8, max_iter=2, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, y)
    median = np.median([len(x) for x in X])
    assert clf.downsample_ == round(median / 40) > 1
    assert clf.module_.front_end.stride == clf.downsample_
    short = [x[:30] for x in X]
    with pytest.warns(Warning):
        clf.fit(short, y)
    assert clf.downsample_ == 1 and clf.module_.front_end is None
    text = RNNClassifier(hidden_size=4, max_iter=1, downsample=4, random_state=0)
    with pytest.warns(Warning):
        text.fit(["a b c", "b c d"] * 4, [0, 1] * 4)
    assert text.downsample_ == 1 and text.module_.front_end is None


def test_downsampling_learns_where_the_bump_is(tmp_path):
    X, y = long_series(64)
    X_test, y_test = long_series(60, seed=1)
    clf = RNNClassifier(
        hidden_size=16, max_iter=30, learning_rate_init=0.01, random_state=0
    )
    with pytest.warns(Warning):  # stopped at max_iter, still learning
        clf.fit(X, y)
    assert clf.downsample_ > 1
    assert clf.score(X_test, y_test) >= 0.8
    # saved and loaded, it predicts the same
    clf.save(tmp_path / "model.zip")
    again = load(tmp_path / "model.zip")
    np.testing.assert_allclose(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert again.downsample_ == clf.downsample_


def test_a_changed_downsample_is_refused_on_warm_start():
    X, y = long_series(16)
    reg = RNNRegressor(hidden_size=4, max_iter=1, downsample=3, warm_start=True)
    with pytest.warns(Warning):
        reg.fit(X, y.astype(float))
    reg.set_params(downsample=4)
    with pytest.raises(ValueError, match="downsample=4"):
        reg.fit(X, y.astype(float))


def test_downsample_is_checked():
    with pytest.raises(ValueError, match="downsample"):
        RNNClassifier(downsample=0).fit([np.zeros((5, 1))] * 2, [0, 1])


def test_series_normalize_reads_shapes_whatever_their_level_and_scale(tmp_path):
    # the class is the shape (a rise or a fall); level and scale vary by series far
    # more than the shape does
    rng = np.random.default_rng(0)

    def draw(n):
        X, y = [], []
        for i in range(n):
            t = np.linspace(0, 1, 20)[:, None]
            shape = t if i % 2 else 1 - t
            level, scale = rng.normal(0, 20), rng.uniform(0.05, 0.5)
            X.append((level + scale * shape).astype(np.float32))
            y.append(i % 2)
        return X, np.array(y)

    X, y = draw(64)
    X_test, y_test = draw(40)
    clf = RNNClassifier(hidden_size=8, max_iter=20, learning_rate_init=0.01)
    with pytest.warns(Warning):
        clf.set_params(random_state=0).fit(X, y)
    assert clf.n_channels_ == 1 and clf.input_mean_.shape == (2,)
    assert clf.module_.encoder.rnn.input_size == 2
    assert clf.score(X_test, y_test) >= 0.9
    with pytest.raises(ValueError, match="X has 2 channels, but .* fitted with 1"):
        clf.predict([np.zeros((5, 2))])
    # the setting travels with the model
    clf.save(tmp_path / "model.zip")
    np.testing.assert_allclose(
        load(tmp_path / "model.zip").predict_proba(X_test), clf.predict_proba(X_test)
    )
    off = RNNClassifier(series_normalize=False, hidden_size=8, max_iter=1)
    with pytest.warns(Warning):
        off.fit(X, y)
    assert off.module_.encoder.rnn.input_size == 1


@pytest.mark.parametrize("normalize", [False, True])
def test_series_differences_are_each_series_own_changes(normalize):
    X = [
        np.array([[1.0, 10.0], [4.0, 10.0], [2.0, 13.0]], dtype=np.float32),
        np.array([[5.0, 0.0], [5.0, -2.0]], dtype=np.float32),
    ]
    reader = SequenceReader(
        owner="RNNClassifier",
        standardize=False,
        series_normalize=normalize,
        series_differences=True,
    )
    stacked = reader.fit_read(X, "numeric")
    steps = stacked.values[1:]
    assert reader.network_kwargs() == {"n_channels": 8 if normalize else 4}
    # the values, then their changes: zero at each series' first step, never the
    # change from the series before
    np.testing.assert_array_equal(steps[:, :2], np.concatenate(X))
    changes = [[0, 0], [3, 0], [-2, 3], [0, 0], [0, -2]]
    np.testing.assert_array_equal(steps[:, 2:4], changes)
    if normalize:  # then both z-normalised within their series
        first = steps[:3, 7]  # the first series' changes of its second channel
        np.testing.assert_allclose(first, (np.array([0, 0, 3]) - 1) / np.sqrt(2))


def test_series_differences_are_learned_from_and_travel_with_the_model(tmp_path):
    # the class is whether the series moves in small steps or jumps; each series'
    # values are drawn from the same levels either way, in another order
    rng = np.random.default_rng(0)

    def draw(n):
        X, y = [], []
        for i in range(n):
            levels = np.sort(rng.normal(size=30))
            if i % 2:  # jumps: the same values, shuffled
                levels = rng.permutation(levels)
            X.append(levels[:, None].astype(np.float32))
            y.append(i % 2)
        return X, np.array(y)

    X, y = draw(64)
    X_test, y_test = draw(40)
    clf = RNNClassifier(
        series_differences=True, hidden_size=8, max_iter=15, learning_rate_init=0.01
    )
    with pytest.warns(Warning):
        clf.set_params(random_state=0).fit(X, y)
    assert clf.input_mean_.shape == (4,)  # values, changes, and their shapes
    assert clf.module_.encoder.rnn.input_size == 4
    assert clf.score(X_test, y_test) >= 0.9
    check_the_setting_travels(clf, X, y, X_test, tmp_path, series_differences=False)


def check_the_setting_travels(clf, X, y, X_test, tmp_path, **change):
    """A saved model predicts as ``clf`` does, and a warm start that ``change``s
    the setting that made its input (a fitted setting is the model's) is refused."""
    clf.save(tmp_path / "model.zip")
    np.testing.assert_allclose(
        load(tmp_path / "model.zip").predict_proba(X_test), clf.predict_proba(X_test)
    )
    clf.set_params(warm_start=True, **change)
    with pytest.raises(ValueError, match=next(iter(change))):
        clf.fit(X, y)


def test_series_scale_is_each_series_log_scale_where_scales_spread():
    rng = np.random.default_rng(0)
    shapes = [rng.normal(size=(int(n), 1)) for n in rng.integers(5, 30, size=40)]
    even = [(x / x.std()).astype(np.float32) for x in shapes]
    reader = SequenceReader(
        owner="RNNClassifier", series_normalize=True, series_scale="auto"
    )
    reader.fit_read(even, "numeric")  # one scale: nothing to tell apart
    assert reader.series_scale is False and reader.scale_floor is None
    assert reader.network_kwargs() == {"n_channels": 2}
    # scales from 1e-3 to 1e3, and a flat series
    scales = 10.0 ** np.linspace(-3, 3, len(even))
    spread = [(x * s).astype(np.float32) for x, s in zip(even, scales, strict=True)]
    spread[0] = np.full((4, 1), 7.0, dtype=np.float32)
    reader = SequenceReader(
        owner="RNNClassifier",
        standardize=False,
        series_normalize=True,
        series_scale="auto",
    )
    stacked = reader.fit_read(spread, "numeric")
    assert reader.series_scale is True
    assert reader.network_kwargs() == {"n_channels": 3}  # values, shape, scale
    stds = np.array([x.std() for x in spread])
    np.testing.assert_allclose(reader.scale_floor, [np.median(stds) / 100], rtol=1e-6)
    # the last channel: the log of the series' scale (past the floor), at each step
    level = stacked.values[1:, 2]
    expected = np.repeat(np.log(stds + reader.scale_floor[0]), [len(x) for x in spread])
    np.testing.assert_allclose(level, expected, rtol=1e-5)
    assert np.isfinite(level).all()
    # reading new series uses the floor fitted, and False leaves the channel out
    new = reader.read([spread[5] * 2], "numeric").values[1:, 2]
    np.testing.assert_allclose(new, np.log(2 * stds[5] + reader.scale_floor[0]))
    off = SequenceReader(owner="RNNClassifier", series_scale=False)
    off.fit_read(spread, "numeric")
    assert off.network_kwargs() == {"n_channels": 1}
    # forced on where every series has one scale, standardising does not blow the
    # rounding in their logarithms up into a channel of unit variance
    forced = SequenceReader(owner="RNNClassifier", series_scale=True)
    level = forced.fit_read(even, "numeric").values[1:, -1]
    assert forced.scale[-1] == 1.0 and np.abs(level).max() < 1e-3


def test_series_scale_is_learned_from_and_travels_with_the_model(tmp_path):
    # the label is whether a series is louder than 1, its scale drawn from 1e-3 to
    # 1e3: standardising the values as a whole squashes all but the loudest to zero
    rng = np.random.default_rng(0)

    def draw(n):
        scales = 10.0 ** rng.uniform(-3, 3, size=n)
        X = [(rng.normal(size=(20, 1)) * s).astype(np.float32) for s in scales]
        return X, (scales > 1).astype(int)

    X, y = draw(64)
    X_test, y_test = draw(40)
    scores = {}
    for scale in (False, "auto"):
        clf = RNNClassifier(
            series_scale=scale,
            hidden_size=8,
            max_iter=15,
            learning_rate_init=0.01,
            readout="softmax",  # what the network learned, not its nearest series
        )
        with pytest.warns(Warning):
            clf.set_params(random_state=0).fit(X, y)
        scores[scale] = clf.score(X_test, y_test)
    assert scores["auto"] >= 0.9 and scores["auto"] >= scores[False] + 0.1
    assert clf.series_scale_ is True
    assert clf.input_mean_.shape == (3,)
    check_the_setting_travels(clf, X, y, X_test, tmp_path, series_scale=False)


def test_window_warp_runs_one_window_of_each_series_at_twice_or_half_speed():
    # a ramp comes back as the map of where each step reads from
    torch.manual_seed(0)
    lengths = torch.tensor([100] * 32 + [50] * 32)
    inputs = torch.zeros(64, 100, 2)
    for i, n in enumerate(lengths.tolist()):
        inputs[i, :n, 0] = torch.arange(float(n))
        inputs[i, :n, 1] = -torch.arange(float(n))
    out = window_warp(inputs, lengths, 0.2)
    assert out.shape == inputs.shape
    torch.testing.assert_close(out[..., 1], -out[..., 0])  # every channel alike
    squeezed = 0
    for i, n in enumerate(lengths.tolist()):
        source = out[i, :n, 0]
        assert not out[i, n:].any()  # zero past the length
        assert source[0] == 0 and source[-1] == pytest.approx(n - 1)
        steps = source.diff()
        assert (steps > 0).all()
        # two speeds, one twice the other (steps across a window's ends lie between)
        assert steps.max() / steps.min() == pytest.approx(2.0, rel=0.01)
        fast = steps > (steps.max() * steps.min()).sqrt()
        read_fast, read_slow = steps[fast].sum(), steps[~fast].sum()
        # the window is the part that reads a fifth of the series
        assert min(read_fast, read_slow) == pytest.approx(0.2 * n, abs=2)
        squeezed += bool(read_fast < read_slow)
    assert 10 < squeezed < 54  # both ways, at even odds
    with pytest.raises(ValueError, match="window_warp needs numeric input"):
        ManyToOneNet(n_outputs=2, n_symbols=10, embedding_dim=4, window_warp=0.1)


def test_window_warp_auto_warps_long_series_while_training_only(tmp_path):
    X, y = long_series(24)
    X_test, _ = long_series(8, seed=1)
    fits = {}
    for warp in ("auto", 0.0):
        clf = RNNClassifier(window_warp=warp, hidden_size=8, max_iter=3, random_state=0)
        with pytest.warns(Warning):
            fits[warp] = clf.fit(X, y)
    clf = fits["auto"]
    assert clf.window_warp_ == 0.1 and clf.module_.window_warp == 0.1
    assert fits[0.0].window_warp_ == 0.0
    assert clf.loss_curve_ != fits[0.0].loss_curve_
    # prediction reads the series as they are
    np.testing.assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))
    # short series (read step by step) and text keep their timing
    short = RNNClassifier(hidden_size=4, max_iter=1, random_state=0)
    with pytest.warns(Warning):
        short.fit([x[:40] for x in X], y)
    assert short.window_warp_ == 0.0
    text = RNNClassifier(hidden_size=4, max_iter=1, window_warp=0.3, random_state=0)
    with pytest.warns(Warning):
        text.fit(["a b c", "b c d"] * 4, [0, 1] * 4)
    assert text.window_warp_ == 0.0
    for bad in (1.0, -0.1, "some"):
        with pytest.raises(ValueError, match="window_warp"):
            RNNClassifier(window_warp=bad).fit(X, y)
    check_the_setting_travels(clf, X, y, X_test, tmp_path, window_warp=0.0)


def test_the_conv_branch_gives_each_series_what_it_gives_alone():
    # training: the batch normalisation counts the real steps only, so that the
    # padding moves neither the batch's statistics nor the running ones
    torch.manual_seed(0)
    branch = ConvBranch(3, 4)
    lengths = torch.tensor([23, 11, 5, 1])
    batch = torch.zeros(4, 23, 3)
    for i, n in enumerate(lengths.tolist()):
        batch[i, :n] = torch.randn(n, 3)
    branch.train()
    branch(batch, lengths)
    conv = branch.wide(batch.transpose(1, 2))  # the first layer's raw features
    real = torch.cat([conv[i, :, :n] for i, n in enumerate(lengths.tolist())], dim=1)
    torch.testing.assert_close(branch.wide_norm.running_mean, 0.1 * real.mean(dim=1))
    torch.testing.assert_close(
        branch.wide_norm.running_var, 0.9 + 0.1 * real.var(dim=1, unbiased=True)
    )
    # prediction: each series gives alone what it gives in the ragged batch
    branch.eval()
    out = branch(batch, lengths)
    assert out.shape == (4, 4) and branch.output_size == 4
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(out[i], branch(batch[i : i + 1, :n], None)[0])
    with pytest.raises(ValueError, match="conv_branch needs numeric input"):
        ManyToOneNet(n_outputs=2, n_symbols=10, embedding_dim=4, conv_branch=True)


def test_conv_branch_auto_joins_the_recurrent_layer_where_the_front_end_reads(
    tmp_path,
):
    X, y = long_series(24)
    X_test, _ = long_series(8, seed=1)
    fits = {}
    for branch in ("auto", False):
        clf = RNNClassifier(
            conv_branch=branch, hidden_size=8, max_iter=3, random_state=0
        )
        with pytest.warns(Warning):
            fits[branch] = clf.fit(X, y)
    clf = fits["auto"]
    assert clf.downsample_ > 1 and clf.conv_branch_
    assert isinstance(clf.module_.conv_branch, ConvBranch)
    # its mean features join the pooled vector: two directions of 8, then 8
    assert clf.transform(X_test).shape == (8, 24)
    assert not fits[False].conv_branch_ and fits[False].module_.conv_branch is None
    assert fits[False].transform(X_test).shape == (8, 16)
    # series read step by step and text have none; the regressor's is off
    short = RNNClassifier(hidden_size=4, max_iter=1, random_state=0)
    with pytest.warns(Warning):
        short.fit([x[:40] for x in X], y)
    assert short.downsample_ == 1 and not short.conv_branch_
    text = RNNClassifier(hidden_size=4, max_iter=1, conv_branch=True, random_state=0)
    with pytest.warns(Warning):
        text.fit(["a b c", "b c d"] * 4, [0, 1] * 4)
    assert not text.conv_branch_
    reg = RNNRegressor(hidden_size=4, max_iter=1, random_state=0)
    with pytest.warns(Warning):
        reg.fit(X, y.astype(float))
    assert reg.downsample_ > 1 and not reg.conv_branch_
    with pytest.raises(ValueError, match="conv_branch"):
        RNNClassifier(conv_branch="some").fit(X, y)
    # mixed precision: its statistics stay in float32, as the running ones
    mixed = RNNClassifier(hidden_size=4, max_iter=1, precision="bfloat16")
    with pytest.warns(Warning):
        mixed.fit(X, y)
    assert mixed.conv_branch_ and mixed.predict(X_test).shape == (8,)
    check_the_setting_travels(clf, X, y, X_test, tmp_path, conv_branch=False)


def test_the_nearest_readout_votes_for_the_nearest_reference_class():
    reference = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.1]])
    readout = NearestReadout(reference, torch.tensor([2, 0, 1, 1]), n_classes=3)
    pooled = torch.tensor([[3.0, 0.2], [0.1, 3.0], [-1.0, -1.0], [4.0, 0.05]])
    logits = torch.tensor([[0.0, 0.0, 5.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]] * 2)[:4]
    blended = readout(pooled, logits).exp()
    # [4, 0.05] lies as near to [4, 0] as to [4, 0.1]: the first of ties
    vote = torch.nn.functional.one_hot(torch.tensor([1, 1, 2, 0]), 3).float()
    torch.testing.assert_close(blended, (torch.softmax(logits, 1) + vote) / 2)
    torch.testing.assert_close(blended.sum(dim=1), torch.ones(4))
    # the vote wins over a network sure of another class; the others keep its order
    assert blended.argmax(dim=1).tolist() == [1, 1, 2, 0]
    assert blended[1, 2] > blended[1, 0]
    with pytest.raises(RuntimeError):
        readout(torch.zeros(1, 3), torch.zeros(1, 3))  # vectors of another width


def test_the_balancing_scale_weighs_each_part_of_the_vectors_alike():
    # a wide part (2 numbers) whose points lie far apart beside a narrow one (1)
    # whose points lie near: plain distances hear the wide part alone
    reference = torch.tensor(
        [[0.0, 0.0, 0.0], [10.0, 0.0, 0.1], [0.0, 10.0, 0.2], [10.0, 10.0, 1.0]]
    )
    scale = NearestReadout.balancing_scale(reference, blocks=(2, 1))
    wide = torch.cdist(reference[:, :2], reference[:, :2]).pow(2)
    narrow = torch.cdist(reference[:, 2:], reference[:, 2:]).pow(2)
    pairs = torch.triu_indices(4, 4, offset=1)
    expected = [wide[pairs[0], pairs[1]].median(), narrow[pairs[0], pairs[1]].median()]
    torch.testing.assert_close(
        scale, torch.tensor([expected[0], expected[0], expected[1]]).rsqrt()
    )
    # a query near the first reference in the wide part, and the last in the
    # narrow one, where the narrow part's difference is the larger in its units
    query = torch.tensor([[1.0, 1.0, 1.0]])
    targets = torch.tensor([0, 1, 2, 3])
    plain = NearestReadout(reference, targets, n_classes=4)
    balanced = NearestReadout(reference, targets, n_classes=4, scale=scale)
    logits = torch.zeros(1, 4)
    assert plain(query, logits).argmax().item() == 0
    assert balanced(query, logits).argmax().item() == 3
    # one part: the same neighbours as plain distances
    one_part = NearestReadout.balancing_scale(reference, blocks=(3,))
    assert torch.allclose(one_part, one_part[0].expand(3))
    # at most max_pairs_of references are compared, spread evenly
    many = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        NearestReadout.balancing_scale(many, (2, 1), max_pairs_of=10),
        NearestReadout.balancing_scale(many[torch.linspace(0, 49, 10).long()], (2, 1)),
    )
    with pytest.raises(ValueError, match=r"blocks \(2, 2\) do not add up.* 3"):
        NearestReadout.balancing_scale(reference, blocks=(2, 2))


def prototype_series(n_per_prototype, seed):
    """Noisy copies of six random prototype series (30-60 steps, 2 channels), two
    per class: what a nearest neighbour tells apart and a barely trained output
    layer does not."""
    prototypes = np.random.default_rng(100)
    shapes = [prototypes.normal(size=(int(n), 2)) for n in (30, 45, 60, 35, 50, 40)]
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k, shape in enumerate(shapes):
        for _ in range(n_per_prototype):
            X.append((shape + rng.normal(scale=0.2, size=shape.shape)).astype("f4"))
            y.append(f"class {k % 3}")
    return X, np.array(y)


def test_readout_auto_reads_the_nearest_training_series_of_small_series_sets(
    tmp_path,
):
    X, y = prototype_series(5, seed=0)
    X_test, y_test = prototype_series(10, seed=1)
    params = dict(hidden_size=8, max_iter=1, random_state=0)
    fits = {}
    for readout in ("auto", "softmax"):
        with pytest.warns(Warning):  # one epoch does not converge
            fits[readout] = RNNClassifier(readout=readout, **params).fit(X, y)
    clf = fits["auto"]
    assert clf.readout_ == "nearest" and fits["softmax"].readout_ == "softmax"
    # the label of the nearest training series in the pooled vectors
    knn = KNeighborsClassifier(n_neighbors=1).fit(clf.transform(X), y)
    predicted = clf.predict(X_test)
    np.testing.assert_array_equal(predicted, knn.predict(clf.transform(X_test)))
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.score(X_test, y_test) >= fits["softmax"].score(X_test, y_test) + 0.2
    np.testing.assert_array_equal(clf.predict(X), y)  # each its own nearest
    # probabilities: the softmax's averaged with the vote, which wins
    proba = clf.predict_proba(X_test)
    softmax = fits["softmax"].predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    vote = clf.classes_[:, None] == predicted[None, :]
    np.testing.assert_allclose(proba, (softmax + vote.T) / 2, atol=1e-5)
    np.testing.assert_allclose(clf.predict_log_proba(X_test), np.log(proba))
    # it travels with the model
    clf.save(tmp_path / "model.zip")
    for copy in (load(tmp_path / "model.zip"), pickle.loads(pickle.dumps(clf))):
        assert copy.readout_ == "nearest"
        np.testing.assert_allclose(copy.predict_proba(X_test), proba, atol=1e-6)


def test_the_nearest_readout_weighs_the_recurrent_and_conv_parts_alike(tmp_path):
    X, y = prototype_series(5, seed=0)
    # noisier copies: their nearest series differ between weighings of the parts
    rng = np.random.default_rng(2)
    X_test = [
        (x + rng.normal(size=x.shape)).astype("f4") for x in prototype_series(4, 1)[0]
    ]
    clf = RNNClassifier(hidden_size=8, conv_branch=True, max_iter=1, random_state=0)
    with pytest.warns(Warning):  # one epoch does not converge
        clf.fit(X, y)
    assert clf.readout_ == "nearest"
    assert clf.module_.pooled_blocks == (16, clf.module_.conv_branch.output_size)
    vectors = clf.transform(X)
    scale = NearestReadout.balancing_scale(
        torch.from_numpy(vectors), clf.module_.pooled_blocks
    ).numpy()
    assert scale[0] != scale[-1]  # two parts, two weights
    knn = KNeighborsClassifier(n_neighbors=1).fit(vectors * scale, y)
    expected = knn.predict(clf.transform(X_test) * scale)
    np.testing.assert_array_equal(clf.predict(X_test), expected)
    plain = KNeighborsClassifier(n_neighbors=1).fit(vectors, y)
    assert (plain.predict(clf.transform(X_test)) != expected).sum() >= 3
    clf.save(tmp_path / "model.zip")
    copy = load(tmp_path / "model.zip")
    np.testing.assert_array_equal(copy.predict(X_test), expected)


def test_readout_auto_reads_the_softmax_where_the_nearest_does_not_fit():
    X, y = prototype_series(3, seed=0)
    params = dict(hidden_size=4, max_iter=1, random_state=0)
    cases = {
        "text": (RNNClassifier(**params), ["a b", "b c", "c a"] * 6, y),
        "class weights": (RNNClassifier(class_weight="balanced", **params), X, y),
        "a validation set": (RNNClassifier(early_stopping=True, **params), X, y),
    }
    for what, (clf, inputs, labels) in cases.items():
        with pytest.warns(Warning):
            clf.fit(inputs, labels)
        assert clf.readout_ == "softmax", what
    partial = RNNClassifier(**params).partial_fit(X, y, classes=np.unique(y))
    assert partial.readout_ == "softmax"
    # a fit that reads the nearest, then partial_fit: the old vectors are dropped
    with pytest.warns(Warning):
        clf = RNNClassifier(**params).fit(X, y)
    assert clf.readout_ == "nearest"
    clf.partial_fit(X, y)
    assert clf.readout_ == "softmax"
    with pytest.raises(ValueError, match="readout='nearest'.*partial_fit"):
        RNNClassifier(readout="nearest", **params).partial_fit(
            X, y, classes=np.unique(y)
        )
    with pytest.raises(ValueError, match="readout"):
        RNNClassifier(readout="knn", **params).fit(X, y)
    # asked for, the nearest reads text too
    with pytest.warns(Warning):
        text = RNNClassifier(readout="nearest", **params).fit(["a b", "c d"], [0, 1])
    assert text.readout_ == "nearest" and text.predict(["a b"]).tolist() == [0]


def test_a_sample_of_weight_0_is_no_nearest_series():
    X, y = prototype_series(3, seed=0)
    # a copy of the first series with another label: the nearest of the first
    # series, and first of the tie, unless its weight of 0 removes it
    flipped = "class 1" if y[0] != "class 1" else "class 2"
    X_all, y_all = [X[0]] + X, np.r_[[flipped], y]
    params = dict(hidden_size=4, max_iter=1, random_state=0)
    weights = {"kept": np.ones(len(X_all)), "removed": np.r_[0.0, np.ones(len(X))]}
    predicted = {}
    for what, weight in weights.items():
        with pytest.warns(Warning):
            clf = RNNClassifier(**params).fit(X_all, y_all, sample_weight=weight)
        predicted[what] = clf.predict(X[:1])[0]
    assert predicted == {"kept": flipped, "removed": y[0]}
