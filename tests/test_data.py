import io

import numpy as np
import pandas as pd
import pytest

from nnplay import data
from nnplay.config import Config
from nnplay.data import BINARY, DATASETS, FEATURES, MULTICLASS, REGRESSION, DataError, build, read_csv


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_builds_with_its_task_and_shapes(name):
    ds = build(Config(dataset=name, n_samples=200, loss="auto"))
    spec = DATASETS[name]
    assert ds.task == spec.task
    assert len(ds.X_train) + len(ds.X_test) == 200
    assert ds.X_train.dtype == np.float32 and ds.X_train.ndim == 2
    assert ds.y_train.shape == (len(ds.X_train),)  # [N], never [N, 1]
    assert ds.raw_dims == spec.dims
    if spec.task == REGRESSION:
        assert ds.y_train.dtype == np.float32
    else:
        assert set(np.unique(ds.y_train)) == set(range(ds.n_classes))


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_data_other_seed_other_data(name):
    a, b = build(Config(dataset=name, seed=3)), build(Config(dataset=name, seed=3))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    c = build(Config(dataset=name, seed=4))
    assert not np.array_equal(a.X_train, c.X_train)


def test_article_data_is_make_classification_with_random_state_101():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=100, n_features=5, n_informative=3, random_state=101)
    got_X, got_y = data.make_article_classification()
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, y)
    ds = build(Config(dataset="make_classification", n_samples=100, seed=0, test_fraction=0.0))
    assert ds.X_train.shape == (100, 5)
    np.testing.assert_array_equal(np.sort(ds.raw_train, axis=0), np.sort(X, axis=0))  # the default seed: the article's


def test_make_regression_has_twenty_features_and_flat_targets():
    ds = build(Config(dataset="make_regression", n_samples=300))
    assert ds.n_features == 20 and ds.y_train.shape == (len(ds.X_train),)


def test_standardised_with_train_statistics_only():
    ds = build(Config(dataset="gauss", n_samples=1000, test_fraction=0.5))
    np.testing.assert_allclose(ds.X_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.X_train.std(0), 1, atol=1e-4)
    raw_test = ds.raw_test
    np.testing.assert_allclose(ds.X_test, (raw_test - ds.mean) / ds.std, rtol=1e-5, atol=1e-5)
    assert np.abs(ds.X_test.mean(0)).max() > 1e-4  # test statistics were not used


def test_regression_targets_are_standardised_and_reversible():
    ds = build(Config(dataset="plane", n_samples=400))
    assert abs(ds.y_train.mean()) < 1e-5
    mu, _sd = ds.target_scale
    raw = ds.untarget(ds.y_train)
    np.testing.assert_allclose(raw.mean(), mu, atol=1e-4)


def test_engineered_features():
    ds = build(Config(dataset="xor", features=("x1", "x2", "x1x2", "sinx1"), n_samples=100, test_fraction=0))
    assert ds.n_features == 4 and ds.feature_names == ["x₁", "x₂", "x₁·x₂", "sin x₁"]
    p = ds.raw_train
    expected = np.column_stack([p[:, 0], p[:, 1], p[:, 0] * p[:, 1], np.sin(p[:, 0])])
    np.testing.assert_allclose(ds.X_train, (expected - expected.mean(0)) / expected.std(0), atol=1e-4)
    for name, (_, fn) in FEATURES.items():
        assert fn(np.array([[0.5, -2.0]])).shape == (1,), name


def test_engineered_features_only_touch_2d_sets():
    ds = build(Config(dataset="make_classification", features=("x1sq",), n_samples=100))
    assert ds.n_features == 5


def test_label_noise_flips_that_share_of_labels():
    clean = build(Config(dataset="gauss", n_samples=1000, test_fraction=0))
    noisy = build(Config(dataset="gauss", n_samples=1000, test_fraction=0, label_noise=0.2))
    # Same points in the same order (the split shuffles both alike); 20% of labels differ.
    np.testing.assert_array_equal(clean.raw_train, noisy.raw_train)
    assert (clean.y_train != noisy.y_train).mean() == pytest.approx(0.2, abs=0.001)


def test_label_noise_multiclass_always_changes_the_class():
    clean = build(Config(dataset="blobs", n_classes=5, n_samples=500, test_fraction=0))
    noisy = build(Config(dataset="blobs", n_classes=5, n_samples=500, test_fraction=0, label_noise=0.5))
    assert (clean.y_train != noisy.y_train).mean() == pytest.approx(0.5, abs=0.002)


@pytest.mark.parametrize("name", ["circle", "xor", "gauss", "spiral", "moons", "checkerboard", "make_classification"])
def test_imbalance_sets_the_minority_share(name):
    ds = build(Config(dataset=name, n_samples=1000, imbalance=0.1, test_fraction=0.3))
    y = np.concatenate([ds.y_train, ds.y_test])
    assert (y == 1).mean() == pytest.approx(0.1, abs=0.02)


def test_blobs_classes_and_split_is_stratified():
    ds = build(Config(dataset="blobs", n_classes=6, n_samples=600, test_fraction=0.5))
    assert ds.task == MULTICLASS and ds.n_classes == 6
    assert np.bincount(ds.y_test).tolist() == [50] * 6


def test_no_test_set():
    ds = build(Config(test_fraction=0.0, n_samples=50))
    assert len(ds.X_train) == 50 and ds.X_test.shape == (0, 2)


def test_plane_grid_covers_the_data():
    ds = build(Config(dataset="circle", n_samples=200))
    xs, ys, points = ds.plane(20)
    assert len(xs) == len(ys) == 20 and points.shape == (400, 2)
    assert xs.min() < ds.raw_train[:, 0].min() and xs.max() > ds.raw_train[:, 0].max()
    _xs1, ys1, line = build(Config(dataset="sine")).plane(30)
    assert ys1 is None and line.shape == (30, 1)
    ds5 = build(Config(dataset="make_classification", n_samples=100))
    _, _, p5 = ds5.plane(10, axes=(1, 3))
    np.testing.assert_allclose(p5[:, 0], ds5.raw_train[:, 0].mean())  # the others sit at their mean


# --- CSV ----------------------------------------------------------------------------------


def _csv(text: str) -> bytes:
    return text.encode()


def test_csv_classification_inferred_from_text_target():
    t = read_csv(_csv("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n"))
    assert t.task == BINARY and t.class_names == ["cat", "dog"] and t.y.tolist() == [0, 1, 0]
    assert t.feature_names == ["a", "b"] and t.X.shape == (3, 2)


def test_csv_integer_target_is_classification_float_target_regression():
    assert read_csv(_csv("x,y\n1,0\n2,1\n3,2\n")).task == MULTICLASS
    assert read_csv(_csv("x,y\n1,0.5\n2,1.25\n3,2\n")).task == REGRESSION


def test_csv_target_column_by_name_semicolons_and_bom():
    t = read_csv("\ufeffy;x1;x2\n1;0.1;0.2\n0;0.3;0.1\n1;0.5;0.5\n".encode(), target="y")
    assert t.feature_names == ["x1", "x2"] and t.task == BINARY


def test_csv_from_path_and_file_object(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(20), "y": [0, 1] * 10}).to_csv(path, index=False)
    assert read_csv(path).X.shape == (20, 1)
    with open(path, "rb") as fh:
        assert read_csv(fh).task == BINARY


def test_csv_table_trains_through_build():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(t=(X[:, 0] > 0).astype(int))
    table = read_csv(frame.to_csv(index=False).encode())
    ds = build(Config(dataset="csv", test_fraction=0.25), table)
    assert ds.n_features == 3 and ds.task == BINARY and ds.raw_names == ["a", "b", "c"]
    with pytest.raises(DataError, match="needs an uploaded table"):
        build(Config(dataset="csv"))


REJECTS = {
    "empty": (b"", "empty"),
    "blank": (b"  \n\n", "empty"),
    "header only": (b"a,b,c\n", "no rows"),
    "one column": (b"a\n1\n2\n", "at least two columns"),
    "text feature": (b"a,b\n1,0\nx,1\n", "not numeric: 'a'"),
    "nan feature": (b"a,b\n1,0\n,1\n2,1\n", "missing or infinite"),
    "inf feature": (b"a,b\n1,0\ninf,1\n2,1\n", "missing or infinite"),
    "nan target": (b"a,b\n1,0\n2,\n3,1\n", "missing values"),
    "one class": (b"a,b\n1,0\n2,0\n3,0\n", "single class"),
    "too many classes": (("a,b\n" + "".join(f"{i},c{i}\n" for i in range(500))).encode(), "500 classes"),
    "zip": (b"PK\x03\x04" + b"\x00" * 40, "not a text CSV"),
    "gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "not a text CSV"),
    "binary garbage": (bytes(range(256)) * 4, "not a text CSV"),
    "ragged": (b"a,b\n1,2\n3,4,5,6\n", "could not be read"),
}


@pytest.mark.parametrize("case", list(REJECTS))
def test_csv_rejections_say_why(case):
    raw, words = REJECTS[case]
    with pytest.raises(DataError) as err:
        read_csv(raw)
    assert words in str(err.value)


def test_csv_too_many_rows():
    raw = ("a,b\n" + "1,0\n2,1\n" * 50_001).encode()
    with pytest.raises(DataError, match="more than 100,000 rows"):
        read_csv(raw)


def test_csv_too_large(monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 1000)
    with pytest.raises(DataError, match="larger than"):
        read_csv(io.BytesIO(b"a,b\n" + b"1,0\n" * 1000))


def test_csv_unknown_target_and_regression_on_text():
    with pytest.raises(DataError, match="no column named 'z'"):
        read_csv(b"a,b\n1,0\n2,1\n", target="z")
    with pytest.raises(DataError, match="cannot be a regression target"):
        read_csv(b"a,b\n1,x\n2,y\n", task=REGRESSION)


def test_frame_with_duplicate_column_names_is_refused():
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["a", "a", "b"])
    with pytest.raises(DataError, match="unique"):
        data.table_from_frame(frame)


def test_csv_latin1_text_is_read():
    t = read_csv("caf\xe9,y\n1,0\n2,1\n".encode("cp1252"))
    assert t.feature_names == ["café"]


def test_a_class_with_no_points_is_a_data_error():
    with pytest.raises(DataError, match="a class gets no points"):
        build(Config(dataset="make_classification", n_samples=13, imbalance=0.02))
    with pytest.raises(DataError, match="a class gets no points"):
        build(Config(dataset="make_classification", n_samples=13, imbalance=0.02, label_noise=0.5))


@pytest.mark.parametrize(
    "config, n_train",
    [
        (Config(n_samples=10, test_fraction=0.9), 1),
        (Config(dataset="blobs", n_classes=6, n_samples=10), 7),
        (Config(dataset="blobs", n_classes=6, n_samples=10, test_fraction=0.9, label_noise=0.5), 1),
        (Config(dataset="circle", n_samples=10, imbalance=0.02), 7),
    ],
)
def test_tiny_data_sets_build(config, n_train):
    ds = build(config)
    assert (len(ds.X_train), len(ds.X_test)) == (n_train, config.n_samples - n_train)
    assert set(np.unique(ds.y_train)) <= set(range(ds.n_classes))


_OTHER = {"n_samples": 47, "noise": 0.3, "minority": 0.2, "n_classes": 4, "random_state": 1}


@pytest.mark.parametrize("name", [n for n in DATASETS if DATASETS[n].make is not None])
def test_every_argument_the_data_call_passes_changes_the_data(name):
    """The exported script and the Lesson show this call: an argument that changes nothing would
    tell the reader it does something."""
    spec, kwargs = data.generator_call(Config(dataset=name, n_samples=40))
    X, y = spec.make(**kwargs)
    for key in kwargs:
        other_X, other_y = spec.make(**{**kwargs, key: _OTHER[key]})
        same = X.shape == other_X.shape and np.array_equal(X, other_X) and np.array_equal(y, other_y)
        assert not same, f"{name}: {key} changes nothing"


def test_csv_path_problems_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="could not open"):
        read_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="could not open"):
        read_csv(tmp_path)


def test_csv_rows_longer_than_the_header_are_refused():
    with pytest.raises(DataError, match="could not be read"):
        read_csv(b"a,y\n1,2,3\n4,5,6\n")


def test_csv_blank_cells_are_missing_values_not_a_class():
    with pytest.raises(DataError, match="missing values"):
        read_csv(b"a,y\n1,0\n2,  \n3,0\n")
    with pytest.raises(DataError, match="missing or infinite"):
        read_csv(b"a,y\n1,0\n  ,1\n3,0\n")
    t = read_csv(b"a, y\n1, 0\n2, 1\n")  # spaces after the commas are fine
    assert t.target == "y" and t.task == BINARY


def test_csv_values_too_large_for_float32_statistics_are_refused():
    with pytest.raises(DataError, match="beyond"):
        read_csv(b"a,y\n1e308,0\n2,1\n")
    with pytest.raises(DataError, match="beyond"):
        read_csv(b"a,y\n1,1e39\n2,1.5\n3,2.5\n")


def test_csv_windows_line_endings_and_tabs():
    assert read_csv(b"a,b,y\r\n1,2,0\r\n3,4,1\r\n").X.shape == (2, 2)
    assert read_csv(b"a\tb\ty\n1\t2\t0\n3\t4\t1\n").feature_names == ["a", "b"]


def test_generators_are_keyword_only():
    with pytest.raises(TypeError):
        data.make_circle(100)
    with pytest.raises(DataError, match="n_classes"):
        data.make_blobs(n_classes=9)


def test_shape_matches_the_built_data_without_drawing_it():
    for config in (
        Config(),
        Config(dataset="blobs", n_classes=5),
        Config(dataset="make_regression"),
        Config(dataset="xor", features=("x1", "x2", "x1x2")),
    ):
        n_in, task, n_classes = data.shape(config)
        ds = build(config)
        assert (n_in, task) == (ds.n_features, ds.task) and (task == REGRESSION or n_classes == ds.n_classes)
    with pytest.raises(DataError, match="needs an uploaded table"):
        data.shape(Config(dataset="csv"))
