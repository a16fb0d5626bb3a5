r"""Save and load a :class:`~spikemem.spec.Network` exactly: JSON for the structure, ``.npz`` for the arrays.

``save(network, "net.json")`` writes two files:

- ``net.json``: the structure, readable and diffable;
- ``net.npz``: every numpy array and numpy scalar, referenced from the JSON by
  key (the key is the value's path, e.g. ``network.projections[0].weights``).

The serializer is generic: it walks dataclasses with :func:`dataclasses.fields`
and has no branch per spec type. Every object is tagged with its class name,
resolved on load through one registry, :data:`CLASSES`, built from the spec's
public classes (the rules come from :data:`~spikemem.spec.plasticity.RULE_TYPES`,
so a new rule is picked up without touching this module).

JSON encoding of a value ``x`` (every JSON object is one of these tagged forms):

================================  ===============================================
``x``                             JSON
================================  ===============================================
``None``, ``bool``, ``str``       ``null``, ``true``/``false``, a string
``int``, ``float``                a number (``repr`` of a float is exact)
``list``                          a JSON list
``tuple``                         ``{"tuple": [...]}``
``dict`` with ``str`` keys        ``{"dict": {...}}``
``numpy.ndarray``                 ``{"array": KEY}``, the array in the ``.npz``
numpy scalar (``np.float32``...)  ``{"scalar": KEY}``, a 0-d array in the ``.npz``
spec dataclass                    ``{"class": NAME, "fields": {...}}``
================================  ===============================================

Round trip: ``load(save(net))`` rebuilds objects of the same classes whose
fields have the same types and values; arrays are bit-identical with the same
dtype and shape, floats are exact (including ``-0.0``), numpy scalars keep
their dtype, tuples stay tuples and lists stay lists. Object identity is not
kept: an array referenced twice is saved twice and loads as two arrays.
Only exact types are accepted (a ``float`` subclass, an ``IntEnum`` or a
masked array raise :class:`~spikemem.spec.SpecError` at save time rather than
loading back as something else); ``numpy.memmap`` is saved as a plain array.

Safety: loading runs no code from the files. The JSON is parsed with
:func:`json.loads`, classes come only from :data:`CLASSES`, arrays are read with
``numpy.load(allow_pickle=False)`` (object arrays are refused at save and at
load). The JSON records a format name and version (:data:`FORMAT`,
:data:`VERSION`) and the SHA-256 of the ``.npz``; anything unknown or
inconsistent raises :class:`~spikemem.spec.SpecError` naming the field.

Atomicity: both files are first written to temporary files in the target
directory and then moved into place with :func:`os.replace`, the ``.npz``
first. A crash can therefore never leave a truncated file; a crash between the
two renames leaves a new ``.npz`` next to the old JSON, which the SHA-256
check reports on load instead of mixing two saves.

``load`` does not validate the network (a saved description may be a
template); call ``network.validate()`` or let a backend do it at compile time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from spikemem.spec.errors import SpecError
from spikemem.spec.inputs import INPUT_TYPES
from spikemem.spec.network import Monitor, Network, Population, Projection
from spikemem.spec.neurons import LIF
from spikemem.spec.plasticity import RULE_TYPES, PlasticityRule

FORMAT = "spikemem.network"
"""Value of the ``"format"`` entry of every saved JSON file."""

VERSION = 1
"""Format version written by :func:`save`; :func:`load` refuses any other."""

ROOT = "network"
"""Path of the network in field names and array keys."""


def _build_registry(classes: Iterable[type]) -> dict[str, type]:
    registry: dict[str, type] = {}
    for cls in classes:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass and cannot be serialized generically")
        if registry.setdefault(cls.__name__, cls) is not cls:
            raise TypeError(f"two serializable classes are named {cls.__name__}")
    return registry


CLASSES: dict[str, type] = _build_registry(
    (Network, Population, Projection, Monitor, LIF, *INPUT_TYPES, PlasticityRule, *RULE_TYPES)
)
"""Every class a saved file may name, by class name."""

_TOP_LEVEL_KEYS = ("format", "version", "network", "arrays_sha256")


# --------------------------------------------------------------------------- encoding


class _Encoder:
    """Turns spec objects into JSON-ready data plus a dictionary of arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _store(self, path: str, array: np.ndarray) -> str:
        if array.dtype.hasobject:
            raise SpecError(
                path,
                f"arrays of dtype {array.dtype} cannot be saved without pickle; use a numeric, boolean or string dtype",
            )
        self.arrays[path] = array
        return path

    def encode(self, value: Any, path: str) -> Any:
        kind = type(value)
        if isinstance(value, np.generic):  # before float/str: np.float64 and np.str_ subclass them
            return {"scalar": self._store(path, np.asarray(value))}
        if value is None or kind in (bool, int, float, str):
            return value
        if kind is list:
            return [self.encode(item, f"{path}[{index}]") for index, item in enumerate(value)]
        if kind is tuple:
            return {"tuple": [self.encode(item, f"{path}[{index}]") for index, item in enumerate(value)]}
        if kind is dict:
            for key in value:
                if type(key) is not str:
                    raise SpecError(path, f"dictionary keys must be strings to be saved, got {key!r}")
            return {"dict": {key: self.encode(item, f"{path}[{key!r}]") for key, item in value.items()}}
        if kind is np.ndarray or kind is np.memmap:
            return {"array": self._store(path, np.asarray(value))}
        if dataclasses.is_dataclass(value) and CLASSES.get(kind.__name__) is kind:
            fields = {
                f.name: self.encode(getattr(value, f.name), f"{path}.{f.name}") for f in dataclasses.fields(value)
            }
            return {"class": kind.__name__, "fields": fields}
        raise SpecError(
            path,
            f"cannot save a value of type {kind.__module__}.{kind.__qualname__}; a spec holds only None, bool, "
            f"int, float, str, lists, tuples, str-keyed dicts, numpy arrays/scalars and the classes "
            f"{sorted(CLASSES)}",
        )


def to_dict(network: Network) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON document and the arrays that describe ``network``.

    Parameters
    ----------
    network
        The network to describe (not validated).

    Returns
    -------
    document, arrays
        ``document`` is JSON-serialisable (``json.dumps`` works on it);
        ``arrays`` maps the keys referenced by the document to the network's
        own arrays (not copies).
    """
    if type(network) is not Network:
        raise SpecError(ROOT, f"expected a spikemem.spec.Network, got {type(network).__name__}")
    encoder = _Encoder()
    body = encoder.encode(network, ROOT)
    return {"format": FORMAT, "version": VERSION, "network": body}, encoder.arrays


# --------------------------------------------------------------------------- decoding


class _Decoder:
    """Rebuilds spec objects from a JSON document and its arrays, using only :data:`CLASSES`."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.used: set[str] = set()

    def _array(self, path: str, key: Any) -> np.ndarray:
        if type(key) is not str:
            raise SpecError(path, f"array reference must be a string key, got {key!r}")
        if key not in self.arrays:
            raise SpecError(path, f"refers to array {key!r}, which the arrays file does not contain")
        if key in self.used:
            raise SpecError(path, f"refers to array {key!r} a second time; every array is referenced once")
        self.used.add(key)
        array = self.arrays[key]
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise SpecError(path, f"array {key!r} is not a plain numeric, boolean or string array")
        return array

    def decode(self, node: Any, path: str) -> Any:
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(item, f"{path}[{index}]") for index, item in enumerate(node)]
        if type(node) is dict:
            keys = set(node)
            if keys == {"class", "fields"}:
                return self._object(node["class"], node["fields"], path)
            if keys == {"array"}:
                return self._array(path, node["array"])
            if keys == {"scalar"}:
                array = self._array(path, node["scalar"])
                if array.ndim != 0:
                    raise SpecError(path, f"scalar {node['scalar']!r} is stored with shape {array.shape}, not ()")
                return array[()]
            if keys == {"tuple"} and type(node["tuple"]) is list:
                return tuple(self.decode(item, f"{path}[{index}]") for index, item in enumerate(node["tuple"]))
            if keys == {"dict"} and type(node["dict"]) is dict:
                return {key: self.decode(item, f"{path}[{key!r}]") for key, item in node["dict"].items()}
        text = json.dumps(node)
        raise SpecError(
            path,
            f"unrecognised JSON value {text[:80]}{'...' if len(text) > 80 else ''}; expected a number, string, "
            'boolean, null, list or one of {"class", "fields"}, {"array"}, {"scalar"}, {"tuple"}, {"dict"}',
        )

    def _object(self, name: Any, fields: Any, path: str) -> Any:
        cls = CLASSES.get(name) if type(name) is str else None
        if cls is None:
            raise SpecError(f"{path}.class", f"unknown class {name!r}; known classes: {sorted(CLASSES)}")
        if type(fields) is not dict:
            raise SpecError(f"{path}.fields", f"must be a JSON object of field values, got {json.dumps(fields)[:80]}")
        declared = {f.name: f for f in dataclasses.fields(cls)}
        for key in fields:
            if key not in declared:
                raise SpecError(f"{path}.{key}", f"{name} has no field {key!r}; its fields are {list(declared)}")
        values = {key: self.decode(value, f"{path}.{key}") for key, value in fields.items()}
        for key, spec in declared.items():
            required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            if key not in values and required:
                raise SpecError(f"{path}.{key}", f"is missing; {name} needs it")
        try:
            obj = cls(**{key: value for key, value in values.items() if declared[key].init})
        except (TypeError, ValueError) as exc:
            raise SpecError(path, f"cannot build {name}: {exc}") from None
        for key, value in values.items():
            if not declared[key].init:
                object.__setattr__(obj, key, value)
        return obj


def from_dict(document: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Network:
    """Rebuild the network described by ``document`` and ``arrays`` (the output of :func:`to_dict`).

    Arrays are used as given, not copied. Raises :class:`SpecError` naming the
    field for an unknown format, version, class or field, a missing or
    unreferenced array, or any malformed value.
    """
    if not isinstance(document, Mapping):
        raise SpecError("document", f"must be a JSON object, got {type(document).__name__}")
    for key in document:
        if key not in _TOP_LEVEL_KEYS:
            raise SpecError(str(key), f"unknown top-level entry; a saved network has {list(_TOP_LEVEL_KEYS)}")
    if document.get("format") != FORMAT:
        raise SpecError("format", f"expected {FORMAT!r}, got {document.get('format')!r}: not a saved spikemem network")
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise SpecError("version", f"unsupported format version {version!r}; this spikemem reads version {VERSION}")
    if "network" not in document:
        raise SpecError(ROOT, "is missing")
    decoder = _Decoder(arrays)
    network = decoder.decode(document["network"], ROOT)
    if type(network) is not Network:
        raise SpecError(ROOT, f"must describe a Network, got {type(network).__name__}")
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        raise SpecError("arrays", f"contains arrays that nothing refers to: {unused[:5]}")
    return network


# --------------------------------------------------------------------------- files


def arrays_path(path: str | os.PathLike[str]) -> Path:
    """The ``.npz`` file that goes with the JSON file ``path`` (same name, suffix ``.npz``)."""
    return Path(path).with_suffix(".npz")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_temp(target: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Write a temporary file next to ``target`` (created with the umask's permissions) and fsync it."""
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    with open(temp, "xb") as stream:
        write(stream)
        stream.flush()
        os.fsync(stream.fileno())
    return temp


def save(network: Network, path: str | os.PathLike[str], *, compress: bool = False) -> Path:
    """Write ``network`` to ``path`` (JSON) and :func:`arrays_path` ``(path)`` (arrays), atomically.

    Parameters
    ----------
    network
        The network to save (not validated).
    path
        The JSON file; the arrays go to the same name with suffix ``.npz``.
    compress
        Compress the arrays (``numpy.savez_compressed``): smaller, slower.

    Returns
    -------
    Path
        The JSON file written.
    """
    json_path = Path(path)
    npz_path = arrays_path(json_path)
    if json_path == npz_path:
        raise ValueError(f"{json_path}: the JSON file needs a suffix other than .npz (e.g. net.json)")
    document, arrays = to_dict(network)
    writer = np.savez_compressed if compress else np.savez
    temps: list[Path] = []
    try:
        temps.append(_write_temp(npz_path, lambda stream: writer(stream, **arrays)))
        document["arrays_sha256"] = _sha256(temps[0])
        text = json.dumps(document, indent=1) + "\n"
        temps.append(_write_temp(json_path, lambda stream: stream.write(text.encode("utf-8"))))
        os.replace(temps[0], npz_path)
        os.replace(temps[1], json_path)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return json_path


def load(path: str | os.PathLike[str]) -> Network:
    """Read a network written by :func:`save`.

    Raises
    ------
    SpecError
        Naming the field, when the JSON is malformed, its format or version is
        unknown, it names an unknown class or field, the ``.npz`` is missing,
        does not match the recorded SHA-256, or holds object (pickled) arrays.
    """
    json_path = Path(path)
    npz_path = arrays_path(json_path)
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(str(json_path), f"is not a JSON file written by spikemem.spec.save ({exc})") from None
    if not isinstance(document, dict):
        raise SpecError(str(json_path), "must hold a JSON object")
    expected = document.get("arrays_sha256")
    if not npz_path.is_file():
        raise SpecError("arrays_sha256", f"the arrays file {npz_path} is missing")
    if type(expected) is not str or _sha256(npz_path) != expected:
        raise SpecError(
            "arrays_sha256",
            f"{npz_path} does not match the SHA-256 recorded in {json_path.name}: the files were modified "
            "or come from different saves",
        )
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise SpecError("arrays", f"cannot read {npz_path} without pickle ({exc})") from None
    return from_dict(document, arrays)
