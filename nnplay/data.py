"""Data sets: generators in the scikit-learn style, engineered inputs, splitting, CSV loading.

Every generator takes keyword-only arguments with an explicit ``random_state`` and returns
``(X, y)`` as numpy arrays: ``X`` of shape ``[n, d]`` (float), ``y`` of shape ``[n]``
(int class labels for classification, float targets for regression).
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"

MAX_SAMPLES = 100_000
MAX_CSV_BYTES = 50 * 1024 * 1024
MAX_CLASSES = 20
MAX_ABS_VALUE = 1e30  # beyond this, float32 statistics overflow


class DataError(ValueError):
    """A data set cannot be built or a user's table cannot be used; the message says why."""


# --- 2-D classification, the TensorFlow Playground four and friends ---------------------------
# Coordinates live roughly in [-6, 6] like TensorFlow Playground's, so sin/cos inputs make sense.


def _balanced_counts(n_samples: int, n_classes: int, minority: float) -> list[int]:
    """Samples per class: the last class gets ``minority`` of the data when that is below 1/k."""
    if minority >= 1.0 / n_classes:
        base = [n_samples // n_classes] * n_classes
        for i in range(n_samples - sum(base)):
            base[i] += 1
        return base
    last = max(1, round(n_samples * minority))
    rest = n_samples - last
    counts = [rest // (n_classes - 1)] * (n_classes - 1)
    for i in range(rest - sum(counts)):
        counts[i] += 1
    return [*counts, last]


def make_circle(*, n_samples=500, noise=0.1, minority=0.5, random_state=None):
    """A disc of class 1 inside a ring of class 0."""
    rng = np.random.default_rng(random_state)
    n0, n1 = _balanced_counts(n_samples, 2, minority)
    r = np.concatenate([rng.uniform(3.5, 5.0, n0), rng.uniform(0.0, 2.5, n1)])
    a = rng.uniform(0, 2 * math.pi, n0 + n1)
    X = np.column_stack([r * np.cos(a), r * np.sin(a)])
    X += rng.normal(0, 5.0 * noise, X.shape)
    return X, np.repeat([0, 1], [n0, n1])


def make_xor(*, n_samples=500, noise=0.1, minority=0.5, random_state=None):
    """Quadrants: class 1 where x1 and x2 share a sign."""
    rng = np.random.default_rng(random_state)
    n0, n1 = _balanced_counts(n_samples, 2, minority)
    parts = []
    for label, n in ((0, n0), (1, n1)):
        p = rng.uniform(0.3, 5.0, (n, 2))
        flip = rng.random(n) < 0.5  # which of the two matching quadrants
        s1 = np.where(flip, 1.0, -1.0)
        s2 = s1 if label == 1 else -s1
        parts.append(np.column_stack([p[:, 0] * s1, p[:, 1] * s2]))
    X = np.concatenate(parts)
    X += rng.normal(0, 5.0 * noise, X.shape)
    return X, np.repeat([0, 1], [n0, n1])


def make_gauss(*, n_samples=500, noise=0.1, minority=0.5, random_state=None):
    """Two Gaussian clouds at (2, 2) and (-2, -2); noise widens them."""
    rng = np.random.default_rng(random_state)
    n0, n1 = _balanced_counts(n_samples, 2, minority)
    sd = 0.5 + 3.5 * noise
    X = np.concatenate([rng.normal(-2.0, sd, (n0, 2)), rng.normal(2.0, sd, (n1, 2))])
    return X, np.repeat([0, 1], [n0, n1])


def make_spiral(*, n_samples=500, noise=0.1, minority=0.5, random_state=None):
    """Two interleaved spirals, as in TensorFlow Playground."""
    rng = np.random.default_rng(random_state)
    n0, n1 = _balanced_counts(n_samples, 2, minority)
    parts = []
    for delta, n in ((0.0, n0), (math.pi, n1)):
        t = np.linspace(0, 1, n, endpoint=False)
        r = 5.0 * t
        angle = 1.75 * t * 2 * math.pi + delta
        parts.append(np.column_stack([r * np.sin(angle), r * np.cos(angle)]))
    X = np.concatenate(parts)
    X += rng.normal(0, 2.0 * noise, X.shape)
    return X, np.repeat([0, 1], [n0, n1])


def make_moons(*, n_samples=500, noise=0.1, minority=0.5, random_state=None):
    """scikit-learn's two moons, scaled to the playground's plane."""
    n0, n1 = _balanced_counts(n_samples, 2, minority)
    X, y = skd.make_moons(n_samples=(n0, n1), noise=noise, random_state=random_state)
    return (X - [0.5, 0.25]) * 2.5, y


def make_checkerboard(*, n_samples=500, noise=0.1, minority=0.5, random_state=None):
    """A 4x4 checkerboard on [-6, 6]^2; the class is the colour of the square."""
    rng = np.random.default_rng(random_state)
    n0, n1 = _balanced_counts(n_samples, 2, minority)
    parts = []
    for label, n in ((0, n0), (1, n1)):
        got = np.empty((0, 2))
        while len(got) < n:  # rejection sampling: about half the draws land on each colour
            p = rng.uniform(-6, 6, (2 * n + 8, 2))
            keep = (np.floor(p[:, 0] / 3) + np.floor(p[:, 1] / 3)) % 2 == label
            got = np.concatenate([got, p[keep]])
        parts.append(got[:n])
    X = np.concatenate(parts)
    X += rng.normal(0, 3.0 * noise, X.shape)
    return X, np.repeat([0, 1], [n0, n1])


def make_blobs(*, n_samples=500, noise=0.1, minority=0.5, n_classes=3, random_state=None):
    """k Gaussian blobs (2 to 6 classes) with centres on a circle."""
    if not 2 <= n_classes <= 6:
        raise DataError("`n_classes` must be between 2 and 6")
    rng = np.random.default_rng(random_state)
    counts = _balanced_counts(n_samples, n_classes, minority)
    angles = 2 * math.pi * np.arange(n_classes) / n_classes + math.pi / 4
    centres = 3.5 * np.column_stack([np.cos(angles), np.sin(angles)])
    sd = 0.6 + 3.0 * noise
    X = np.concatenate([rng.normal(c, sd, (n, 2)) for c, n in zip(centres, counts)])
    return X, np.repeat(np.arange(n_classes), counts)


ARTICLE_RANDOM_STATE = 101  # the article's make_classification seed; Config seed k draws 101 + k


def make_article_classification(*, n_samples=100, minority=0.5, random_state=ARTICLE_RANDOM_STATE):
    """The article's data: ``make_classification(n_features=5, n_informative=3, random_state=101)``.

    It takes no ``noise``: the article's data is fixed by its generator (which flips 1% of labels).
    """
    weights = None if minority >= 0.5 else [1 - minority]
    return skd.make_classification(
        n_samples=n_samples, n_features=5, n_informative=3, weights=weights, random_state=random_state
    )


# --- regression ---------------------------------------------------------------------------


def make_plane(*, n_samples=500, noise=0.1, random_state=None, **_):
    """y = (x1 + x2) / 10 over [-6, 6]^2, TensorFlow Playground's 'plane'."""
    rng = np.random.default_rng(random_state)
    X = rng.uniform(-6, 6, (n_samples, 2))
    y = (X[:, 0] + X[:, 1]) / 10 + rng.normal(0, noise, n_samples)
    return X, y


def make_multi_gauss(*, n_samples=500, noise=0.1, random_state=None, **_):
    """A sum of signed Gaussian bumps, TensorFlow Playground's 'multi gauss'."""
    rng = np.random.default_rng(random_state)
    X = rng.uniform(-6, 6, (n_samples, 2))
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = np.zeros(n_samples)
    for cx, cy, sign in bumps:
        y += sign * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 2)
    return X, y + rng.normal(0, noise, n_samples)


def make_sine(*, n_samples=500, noise=0.1, random_state=None, **_):
    """A 1-D curve: y = sin(x) on [-2 pi, 2 pi]."""
    rng = np.random.default_rng(random_state)
    x = rng.uniform(-2 * math.pi, 2 * math.pi, n_samples)
    return x[:, None], np.sin(x) + rng.normal(0, noise, n_samples)


def make_article_regression(*, n_samples=500, noise=0.1, random_state=None, **_):
    """The article's regression data: ``make_regression`` with 20 features, targets of shape [n]."""
    X, y = skd.make_regression(
        n_samples=n_samples, n_features=20, n_informative=10, noise=noise * 10, random_state=random_state
    )
    return X, y


@dataclass(frozen=True)
class DatasetSpec:
    make: Callable[..., tuple[np.ndarray, np.ndarray]]
    task: str  # BINARY, MULTICLASS or REGRESSION
    dims: int  # raw input dimensions; the engineered inputs apply to 2-D sets only
    label: str


DATASETS: dict[str, DatasetSpec] = {
    "circle": DatasetSpec(make_circle, BINARY, 2, "Circle"),
    "xor": DatasetSpec(make_xor, BINARY, 2, "Exclusive or"),
    "gauss": DatasetSpec(make_gauss, BINARY, 2, "Gaussian"),
    "spiral": DatasetSpec(make_spiral, BINARY, 2, "Spiral"),
    "moons": DatasetSpec(make_moons, BINARY, 2, "Moons"),
    "checkerboard": DatasetSpec(make_checkerboard, BINARY, 2, "Checkerboard"),
    "blobs": DatasetSpec(make_blobs, MULTICLASS, 2, "Blobs (k classes)"),
    "make_classification": DatasetSpec(make_article_classification, BINARY, 5, "The article's 5 features"),
    "plane": DatasetSpec(make_plane, REGRESSION, 2, "Plane (regression)"),
    "multi_gauss": DatasetSpec(make_multi_gauss, REGRESSION, 2, "Multi Gaussian (regression)"),
    "sine": DatasetSpec(make_sine, REGRESSION, 1, "Sine, 1-D (regression)"),
    "make_regression": DatasetSpec(make_article_regression, REGRESSION, 20, "The article's 20 features (regression)"),
}
CSV = "csv"  # a user's uploaded table; it travels beside the Config, never inside it


# --- engineered inputs for 2-D sets -------------------------------------------------------------

FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "x1": ("x₁", lambda p: p[:, 0]),
    "x2": ("x₂", lambda p: p[:, 1]),
    "x1sq": ("x₁²", lambda p: p[:, 0] ** 2),
    "x2sq": ("x₂²", lambda p: p[:, 1] ** 2),
    "x1x2": ("x₁·x₂", lambda p: p[:, 0] * p[:, 1]),
    "sinx1": ("sin x₁", lambda p: np.sin(p[:, 0])),
    "sinx2": ("sin x₂", lambda p: np.sin(p[:, 1])),
    "cosx1": ("cos x₁", lambda p: np.cos(p[:, 0])),
    "cosx2": ("cos x₂", lambda p: np.cos(p[:, 1])),
}


def engineer(points: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """Turn raw 2-D points into the chosen input columns (any subset of ``FEATURES``)."""
    return np.column_stack([FEATURES[f][1](points) for f in features])


# --- the data set a Trainer uses ----------------------------------------------------------------


@dataclass
class Dataset:
    """Train/test split, standardised with train statistics only, plus what the charts need.

    ``raw_*`` keep the untransformed inputs (the plane the boundary is drawn on); ``X_*`` are the
    network's inputs; regression targets are standardised too and ``target_scale`` undoes it.
    """

    name: str
    task: str
    raw_train: np.ndarray
    raw_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    raw_names: list[str]
    features: tuple[str, ...] = ()  # engineered inputs (2-D sets); () = the raw columns
    n_classes: int = 2
    class_names: list[str] = field(default_factory=list)
    mean: np.ndarray = field(default=None, repr=False)
    std: np.ndarray = field(default=None, repr=False)
    target_scale: tuple[float, float] = (0.0, 1.0)  # (mean, std) of the raw regression target

    def __post_init__(self):
        train = self._columns(self.raw_train)
        if self.mean is None:
            self.mean = train.mean(axis=0)
            std = train.std(axis=0)
            self.std = np.where(std > 1e-12, std, 1.0)
        self.X_train = self.transform(self.raw_train)
        self.X_test = self.transform(self.raw_test)
        if not self.class_names and self.task != REGRESSION:
            self.class_names = [str(i) for i in range(self.n_classes)]

    def _columns(self, raw: np.ndarray) -> np.ndarray:
        return engineer(raw, self.features) if self.features else raw

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw inputs -> standardised network inputs (float32)."""
        return ((self._columns(np.asarray(raw, dtype=np.float64)) - self.mean) / self.std).astype(np.float32)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def raw_dims(self) -> int:
        return self.raw_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.task == MULTICLASS else 1

    def targets(self, raw_y: np.ndarray) -> np.ndarray:
        """Standardise regression targets; class labels pass through."""
        if self.task != REGRESSION:
            return raw_y
        mu, sd = self.target_scale
        return ((raw_y - mu) / sd).astype(np.float32)

    def untarget(self, y: np.ndarray) -> np.ndarray:
        mu, sd = self.target_scale
        return np.asarray(y, dtype=np.float64) * sd + mu if self.task == REGRESSION else y

    def plane(self, resolution: int, axes: tuple[int, int] = (0, 1), pad: float = 0.1):
        """A grid over two raw input columns (the others at their training mean).

        Returns ``(xs, ys, raw_points)`` with ``raw_points`` of shape ``[res*res, raw_dims]``
        (rows run over ``xs`` fastest), or over one column for 1-D data (``ys`` is None).
        """
        raw = np.concatenate([self.raw_train, self.raw_test])
        lo, hi = raw.min(axis=0), raw.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        lo, hi = lo - pad * span, hi + pad * span
        centre = self.raw_train.mean(axis=0)
        if self.raw_dims == 1:
            xs = np.linspace(lo[0], hi[0], resolution)
            return xs, None, xs[:, None]
        a, b = axes
        xs = np.linspace(lo[a], hi[a], resolution)
        ys = np.linspace(lo[b], hi[b], resolution)
        gx, gy = np.meshgrid(xs, ys)
        points = np.tile(centre, (resolution * resolution, 1))
        points[:, a] = gx.ravel()
        points[:, b] = gy.ravel()
        return xs, ys, points


def _flip_labels(y: np.ndarray, fraction: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    if fraction <= 0:
        return y
    y = y.copy()
    idx = rng.choice(len(y), size=round(fraction * len(y)), replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, len(idx))) % n_classes  # always a different class
    return y


def can_stratify(y: np.ndarray, test_fraction: float) -> bool:
    """Whether a split can keep every class's share in both parts (each class needs a point in each)."""
    _, counts = np.unique(y, return_counts=True)
    n_test = math.ceil(test_fraction * len(y))
    return counts.min() >= 2 and n_test >= len(counts) and len(y) - n_test >= len(counts)


def _split(raw, y, test_fraction, seed, classify):
    if test_fraction <= 0:
        return raw, raw[:0], y, y[:0]
    stratify = y if classify and can_stratify(y, test_fraction) else None
    try:
        return train_test_split(raw, y, test_size=test_fraction, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(f"cannot split {len(y)} samples with test_fraction={test_fraction}: {exc}") from exc


def generator_call(config) -> tuple[DatasetSpec, dict]:
    """The generator a Config's data set uses and the keyword arguments it is called with."""
    spec = DATASETS[config.dataset]
    seed = config.seed + ARTICLE_RANDOM_STATE if config.dataset == "make_classification" else config.seed
    kwargs = dict(n_samples=config.n_samples, noise=config.noise, random_state=seed)
    if spec.task != REGRESSION:
        kwargs["minority"] = config.imbalance
    if spec.make is make_blobs:
        kwargs["n_classes"] = config.n_classes
    # Only what the generator takes: the exported script shows this call, and an argument its
    # generator swallows (``**_``) would claim an effect it does not have.
    taken = inspect.signature(spec.make).parameters
    return spec, {k: v for k, v in kwargs.items() if k in taken}


def shape(config, table: Table | None = None) -> tuple[int, str, int]:
    """(network inputs, task, classes) a Config's data will have, without drawing the data."""
    if config.dataset == CSV:
        if table is None:
            raise DataError("dataset 'csv' needs an uploaded table")
        return len(table.feature_names), table.task, table.n_classes
    spec = DATASETS[config.dataset]
    n_inputs = len(config.features) if spec.dims == 2 else spec.dims
    return n_inputs, spec.task, config.n_classes if spec.task == MULTICLASS else 2


def build(config, table: Table | None = None) -> Dataset:
    """The Dataset a Config describes (or the user's table when ``config.dataset == 'csv'``)."""
    rng = np.random.default_rng([config.seed, 1])  # a stream of its own, apart from the generator's
    if config.dataset == CSV:
        if table is None:
            raise DataError("dataset 'csv' needs an uploaded table")
        raw, y, task = table.X, table.y, table.task
        n_classes, class_names = table.n_classes, table.class_names
        raw_names = table.feature_names
    else:
        spec, kwargs = generator_call(config)
        task = spec.task
        raw, y = spec.make(**kwargs)
        n_classes = 1 if task == REGRESSION else config.n_classes if task == MULTICLASS else 2
        if task != REGRESSION and len(np.unique(y)) < n_classes:
            raise DataError(
                f"with {config.n_samples} samples and imbalance {config.imbalance:g} a class gets no points; "
                "raise n_samples or imbalance"
            )
        class_names = []
        raw_names = (
            ["x1", "x2"] if spec.dims == 2 else ["x"] if spec.dims == 1 else [f"x{i + 1}" for i in range(spec.dims)]
        )
    if task != REGRESSION:
        y = _flip_labels(np.asarray(y, dtype=np.int64), config.label_noise, n_classes, rng)
    features = tuple(config.features) if raw.shape[1] == 2 and config.dataset != CSV else ()
    raw_train, raw_test, y_train, y_test = _split(raw, y, config.test_fraction, config.seed, task != REGRESSION)
    scale = (0.0, 1.0)
    if task == REGRESSION:
        sd = float(np.std(y_train))
        scale = (float(np.mean(y_train)), sd if sd > 1e-12 else 1.0)
    ds = Dataset(
        name=config.dataset,
        task=task,
        raw_train=raw_train,
        raw_test=raw_test,
        y_train=y_train,
        y_test=y_test,
        feature_names=[FEATURES[f][0] for f in features] if features else list(raw_names),
        raw_names=list(raw_names),
        features=features,
        n_classes=n_classes if task != REGRESSION else 1,
        class_names=class_names,
        target_scale=scale,
    )
    ds.y_train, ds.y_test = ds.targets(y_train), ds.targets(y_test)
    return ds


# --- a user's CSV ---------------------------------------------------------------------------


@dataclass
class Table:
    """A user's table, checked and ready: numeric features, a target, an inferred task."""

    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list[str]
    target: str
    n_classes: int = 1
    class_names: list[str] = field(default_factory=list)
    delimiter: str = ","  # as sniffed from the file, so an exported script reads it the same way


def read_csv(source, *, target: str | None = None, task: str | None = None) -> Table:
    """Read a user's CSV (path, bytes or file object) and check it; raise DataError saying what is wrong.

    The target is the named column, else the last one. The task is classification when the target
    is text or holds few distinct integers, else regression, unless ``task`` says otherwise.
    Only pandas' text parser touches the bytes: nothing is executed or unpickled.
    """
    raw = _read_bytes(source)
    if not raw.strip():
        raise DataError("the file is empty")
    if raw[:4] == b"PK\x03\x04" or raw[:2] == b"\x1f\x8b" or b"\x00" in raw[:65536]:
        raise DataError("this is not a text CSV file (it looks binary or compressed)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise DataError("the file is not UTF-8 or Windows-1252 text") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # e.g. rows longer than the header
            df = pd.read_csv(
                io.StringIO(text),
                sep=_delimiter(text),
                nrows=MAX_SAMPLES + 1,
                index_col=False,
                skipinitialspace=True,
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        raise DataError(f"the file could not be read as CSV: {str(exc).splitlines()[0][:200]}") from exc
    table = table_from_frame(df, target=target, task=task)
    table.delimiter = _delimiter(text)
    return table


def _delimiter(text: str) -> str:
    """Comma unless the header clearly uses semicolons, tabs or pipes (as spreadsheets in many locales do)."""
    try:
        return csv.Sniffer().sniff(text[:65536].split("\n", 5)[0] if "\n" in text else text, ",;\t|").delimiter
    except csv.Error:
        return ","


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(MAX_CSV_BYTES + 1)
        if isinstance(data, str):
            data = data.encode()
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_CSV_BYTES + 1)
        except OSError as exc:
            raise DataError(f"could not open {source}: {exc.strerror or exc}") from None
    if len(data) > MAX_CSV_BYTES:
        raise DataError(f"the file is larger than {MAX_CSV_BYTES // 2**20} MB")
    return data


def table_from_frame(df: pd.DataFrame, *, target: str | None = None, task: str | None = None) -> Table:
    """Check a DataFrame and split it into features and target (see ``read_csv``)."""
    if df.shape[0] == 0:
        raise DataError("the table has a header but no rows")
    if df.shape[0] > MAX_SAMPLES:
        raise DataError(f"the table has more than {MAX_SAMPLES:,} rows")
    if df.shape[1] < 2:
        raise DataError("the table needs at least two columns: one or more features and a target")
    df.columns = [str(c).strip() for c in df.columns]
    if len(set(df.columns)) != len(df.columns):
        raise DataError("column names must be unique")
    target = df.columns[-1] if target is None else target
    if target not in df.columns:
        raise DataError(f"there is no column named {target!r}; columns: {', '.join(map(repr, df.columns[:20]))}")
    features = df.drop(columns=[target])
    bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise DataError(f"feature columns must be numbers; not numeric: {', '.join(map(repr, bad[:10]))}")
    X = features.to_numpy(dtype=np.float64)
    finite = np.isfinite(X)
    if not finite.all():
        col = features.columns[np.where(~finite.all(axis=0))[0][0]]
        raise DataError(
            f"column {col!r} has {int((~finite).sum())} missing or infinite values in all; fill or drop them first"
        )
    if np.abs(X).max() > MAX_ABS_VALUE:
        col = features.columns[int(np.argmax(np.abs(X).max(axis=0)))]
        raise DataError(f"column {col!r} has values beyond ±{MAX_ABS_VALUE:g}; rescale it first")
    col = df[target]
    if col.isna().any():
        raise DataError(f"the target column {target!r} has {int(col.isna().sum())} missing values")
    numeric = pd.api.types.is_numeric_dtype(col)
    if task is None:
        integral = numeric and np.all(np.isfinite(col)) and np.all(np.mod(col, 1) == 0)
        task = "classification" if not numeric or (integral and col.nunique() <= MAX_CLASSES) else REGRESSION
    if task == REGRESSION:
        if not numeric:
            raise DataError(f"the target {target!r} is text, so it cannot be a regression target")
        y = col.to_numpy(dtype=np.float64)
        if not np.isfinite(y).all() or np.abs(y).max() > MAX_ABS_VALUE:
            raise DataError(f"the target column {target!r} has infinite values or values beyond ±{MAX_ABS_VALUE:g}")
        return Table(X, y, REGRESSION, list(features.columns), target)
    classes = np.sort(col.unique()) if numeric else sorted(col.astype(str).unique())
    if len(classes) < 2:
        raise DataError(f"the target {target!r} has a single class; a classifier needs at least two")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"the target {target!r} has {len(classes)} classes; at most {MAX_CLASSES} are allowed")
    lookup = {c: i for i, c in enumerate(classes)}
    keys = col if numeric else col.astype(str)
    y = keys.map(lookup).to_numpy(dtype=np.int64)
    return Table(
        X,
        y,
        BINARY if len(classes) == 2 else MULTICLASS,
        list(features.columns),
        target,
        n_classes=len(classes),
        class_names=[str(c) for c in classes],
    )
