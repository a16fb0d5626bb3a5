"""Full MNIST from a user's IDX files (``[stream] path`` / ``$SPIKEMEM_MNIST_DIR``) and the lazy permuted stream."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from spikemem.continual import streams
from spikemem.continual.config import ConfigError, parse_section
from spikemem.continual.idx import MNIST_FILES, write_idx
from spikemem.continual.streams import MNIST_DIR_ENV, PermutedRows, StreamConfig, build_stream, permuted_stream

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _write_mnist(folder: Path, *, gz: bool, train: int = 60, test: int = 20) -> Path:
    """A tiny MNIST distribution: 28x28 uint8 images, labels 0..9, the distribution's file names."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {
        "train_images": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train_labels": np.arange(train, dtype=np.uint8) % 10,
        "test_images": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "test_labels": np.arange(test, dtype=np.uint8) % 10,
    }
    for role, array in arrays.items():
        write_idx(folder / (MNIST_FILES[role] + suffix), array)
    return folder


def _config(**fields) -> StreamConfig:
    return parse_section(StreamConfig, {"kind": "permuted", "tasks": 2, **fields}, "stream")


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_source_reads_the_four_files_of_a_directory(tmp_path, gz) -> None:
    folder = _write_mnist(tmp_path / "mnist", gz=gz)
    config = _config(source="mnist", path=str(folder))
    assert config.input_width == 784
    stream = build_stream(config, np.random.default_rng(0))
    task = stream.tasks[1]
    assert stream.name == "permuted_mnist" and stream.n_inputs == 784 and stream.head_sizes == [10]
    assert task.x_train.shape == (60, 784) and task.x_test.shape == (20, 784)
    assert task.x_train.dtype == np.float32 and 0.0 <= task.x_train.min() and task.x_train.max() <= 1.0
    assert np.array_equal(np.sort(task.y_train), np.sort(np.arange(60) % 10)), "the file's own training set"
    plain_folder = _write_mnist(tmp_path / "other", gz=not gz)
    other = build_stream(_config(source="mnist", path=str(plain_folder)), np.random.default_rng(0))
    assert np.array_equal(other.tasks[1].x_train, task.x_train), "gzip and plain files give the same stream"


def test_environment_variable_names_the_directory(tmp_path, monkeypatch) -> None:
    folder = _write_mnist(tmp_path / "mnist", gz=True)
    monkeypatch.setenv(MNIST_DIR_ENV, str(folder))
    from_env = build_stream(_config(source="mnist"), np.random.default_rng(3))
    monkeypatch.delenv(MNIST_DIR_ENV)
    from_key = build_stream(_config(source="mnist", path=str(folder)), np.random.default_rng(3))
    assert np.array_equal(from_env.tasks[0].x_test, from_key.tasks[0].x_test)
    with pytest.raises(ConfigError, match=rf"stream\.path: .*set stream\.path .*{MNIST_DIR_ENV}"):
        _config(source="mnist")


def test_missing_and_malformed_files_name_the_key_and_the_fix(tmp_path, monkeypatch) -> None:
    fix = rf"point stream\.path \(or {MNIST_DIR_ENV}\) at the directory"
    with pytest.raises(ConfigError, match=rf"stream\.path: .*nowhere: no such directory.*{fix}"):
        _config(source="mnist", path=str(tmp_path / "nowhere"))
    folder = _write_mnist(tmp_path / "mnist", gz=False)
    (folder / MNIST_FILES["test_labels"]).unlink()
    with pytest.raises(ConfigError, match=rf"stream\.path: .*no t10k-labels-idx1-ubyte\[\.gz\].*{fix}"):
        _config(source="mnist", path=str(folder))
    monkeypatch.setenv(MNIST_DIR_ENV, str(folder))
    with pytest.raises(ConfigError, match=rf"from {MNIST_DIR_ENV}"):
        _config(source="mnist")
    with pytest.raises(ConfigError, match=r"stream\.path: is read only with source = 'mnist'"):
        _config(source="mnist5k", path=str(folder))

    folder = _write_mnist(tmp_path / "bad", gz=True)
    images = folder / (MNIST_FILES["train_images"] + ".gz")
    images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-5]))  # truncated data
    config = _config(source="mnist", path=str(folder))  # present: parsing passes, reading fails
    with pytest.raises(ConfigError, match=rf"stream\.path: .*train-images-idx3-ubyte\.gz: not a readable IDX.*{fix}"):
        build_stream(config, np.random.default_rng(0))
    images.write_bytes(b"not gzip at all")
    with pytest.raises(ConfigError, match=r"stream\.path: .*not a readable IDX file"):
        build_stream(config, np.random.default_rng(0))
    write_idx(images, np.zeros((60, 8, 8), dtype=np.uint8))
    with pytest.raises(ConfigError, match=r"64 pixels, not MNIST's 28x28.*source = 'idx'"):
        build_stream(config, np.random.default_rng(0))
    write_idx(images, np.zeros((59, 28, 28), dtype=np.uint8))
    with pytest.raises(ConfigError, match=r"stream\.path: .*59 images but .*60 labels"):
        build_stream(config, np.random.default_rng(0))

    idx = {"source": "idx", "idx_train_images": str(tmp_path / "none.idx"), "idx_train_labels": str(images)}
    with pytest.raises(ConfigError, match=r"stream\.idx_train_images: .*none\.idx: no such file; check"):
        build_stream(_config(**idx), np.random.default_rng(0))


def test_lazy_permuted_stream_is_the_eager_one() -> None:
    """Views of one data set, no copy per task: the same values as permuting eagerly, from the same draws."""
    data = streams.load_digits_dataset(0.2, np.random.default_rng(0))
    lazy = permuted_stream(data, 4, np.random.default_rng(5), max_train=300, permute_first=False)
    eager = permuted_stream(data, 4, np.random.default_rng(5), max_train=300, permute_first=False, lazy=False)
    rows = np.random.default_rng(1).permutation(300)[:64]
    for lazy_task, eager_task in zip(lazy.tasks, eager.tasks, strict=True):
        assert isinstance(lazy_task.train_pixels, PermutedRows) and isinstance(eager_task.train_pixels, np.ndarray)
        assert lazy_task.train_pixels.base is lazy.tasks[0].train_pixels.base, "one data set for every task"
        assert lazy_task.train_pixels.shape == eager_task.train_pixels.shape == (300, 64)
        assert np.array_equal(lazy_task.x_train, eager_task.x_train)
        assert np.array_equal(lazy_task.x_test, eager_task.x_test)
        assert np.array_equal(lazy_task.train_pixels[rows], eager_task.train_pixels[rows])
        assert np.array_equal(lazy_task.train_pixels[7], eager_task.train_pixels[7])
        assert np.array_equal(np.asarray(lazy_task.test_pixels), eager_task.x_test)
    assert np.array_equal(lazy.tasks[0].x_train, data.x_train[:300]), "permute_first = false"


def test_lazy_stream_trains_bit_identically_and_shares_the_data(tmp_path, monkeypatch) -> None:
    """pmnist_finetune on (tiny) full-MNIST files: the lazy stream's run equals the eager one's bit for bit."""
    pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    from spikemem.continual.training import Trainer
    from spikemem.experiments import run_experiment

    folder = _write_mnist(tmp_path / "mnist", gz=True, train=80, test=30)
    monkeypatch.setenv(MNIST_DIR_ENV, str(folder))
    tiny = ["stream.source=mnist", "stream.tasks=3", "training.epochs=1", "training.batch_size=16"]
    tiny += ["model.hidden=[12, 10]", "encoding.steps=3"]
    config = EXPERIMENTS / "pmnist_finetune.toml"

    seen: list = []
    original = Trainer.data

    def data(self, index, task):
        seen.append(original(self, index, task))
        return seen[-1]

    monkeypatch.setattr(Trainer, "data", data)
    lazy = json.loads(run_experiment(config, "snntorch", 0, tiny, tmp_path / "lazy", False).read_text())
    assert all(isinstance(d.x_train, PermutedRows) for d in seen)
    assert len({id(d.x_train.base) for d in seen}) == 1, "the trainer holds one copy of the training set"

    eager_stream = functools.partial(streams.permuted_stream, lazy=False)
    monkeypatch.setattr(streams, "permuted_stream", eager_stream)
    seen.clear()
    eager = json.loads(run_experiment(config, "snntorch", 0, tiny, tmp_path / "eager", False).read_text())
    assert not any(isinstance(d.x_train, PermutedRows) for d in seen)
    assert lazy["metrics"]["R"] == eager["metrics"]["R"]
    assert lazy["metrics"]["per_task"][-1]["epochs"] == eager["metrics"]["per_task"][-1]["epochs"]  # losses
    lazy_model = np.load(tmp_path / "lazy" / "trained_model.npz")
    eager_model = np.load(tmp_path / "eager" / "trained_model.npz")
    for key in eager_model.files:
        assert np.array_equal(lazy_model[key], eager_model[key]), key
