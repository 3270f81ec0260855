"""Checkpoints without pickle: one ``.npz`` file, written atomically, checked when read.

Layout of the file (written with :func:`numpy.savez`, read with ``allow_pickle=False``):

* ``param/<name>`` — the model's parameters, one array each;
* ``optim/<path>`` — the optimiser's arrays (e.g. ``optim/m/W`` for Adam's first moment of ``W``);
* ``extra/<path>`` — arrays found in ``extra``;
* ``__meta__`` — UTF-8 JSON as a ``uint8`` array::

      {"format": "minilstm-checkpoint", "version": 1,
       "config": {...},                       # the model's constructor arguments
       "arrays": [{"key", "shape", "dtype"}, ...],
       "optimizer": {...} | null,             # the optimiser state, arrays replaced by
       "extra": {...} | null,                 #   {"__array__": key} markers
       "rng": {...} | null,                   # numpy bit_generator.state, big ints as strings
       "checksum": {"algorithm": "sha256", "hexdigest": "..."}}

The checksum is the SHA-256 of every array's key, dtype, shape and bytes, in key order, so a
flipped byte, a swapped array or a truncated file is detected (:class:`CheckpointError`).

Writes are atomic: the file is written to a temporary file in the same directory, flushed and
``fsync``-ed, then moved over ``path`` with :func:`os.replace`. A crash in the middle leaves the
previous checkpoint untouched and removes the temporary file.

A writer killed outright (SIGKILL, power loss) cannot remove its temporary file: it stays
beside the checkpoint as ``.<name>.<random>.tmp`` (hidden, another suffix), is never read in
place of ``path``, and can be deleted.

Arrays are copied to the host with :func:`minilstm.backend.to_numpy` before saving, and moved to
the requested backend with ``xp.asarray`` when loading.

For a model (anything with ``params`` and ``config``: a :class:`~minilstm.nn.model.SequenceModel`, a
layer), :func:`save_model` writes its parameters and configuration, and :func:`load_into` loads a
checkpoint into an existing model after checking that the configurations agree (apart from how
the weights were initialised: ``seed``, ``init_scale``, ``gate_bias_init``, and the ``backend``)
and that every parameter is there with its shape.
"""
from __future__ import annotations

import hashlib
import json
import numbers
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .backend import get_backend, to_numpy

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint", "save_model",
           "load_into", "FORMAT", "VERSION"]

FORMAT = "minilstm-checkpoint"
VERSION = 1
META_KEY = "__meta__"
_MAX_SAFE_INT = 2 ** 53   # larger ints are stored as strings, so any JSON reader keeps them exact


class CheckpointError(ValueError):
    """A checkpoint cannot be used: truncated, corrupted, wrong format or version, or mismatched."""


class Checkpoint(NamedTuple):
    """What :func:`load_checkpoint` returns."""

    params: dict            # name → array on the requested backend
    config: dict            # the saved config (JSON types)
    optimizer_state: dict | None   # as given to save_checkpoint, arrays on the requested backend
    rng: np.random.Generator | None  # a generator in the saved state
    extra: dict | None


# ---- saving ------------------------------------------------------------------------------------
def save_checkpoint(path, *, model_params: dict, config: dict, optimizer_state: dict | None = None,
                    rng: np.random.Generator | None = None, extra: dict | None = None) -> Path:
    """Write a checkpoint to ``path`` (used as given; no suffix is added) atomically.

    ``model_params``: name → array (any backend). ``config``: a JSON-serialisable dict.
    ``optimizer_state``: e.g. ``Optimizer.state_dict()`` — nested dicts/lists of arrays and
    JSON-able scalars. ``rng``: a :class:`numpy.random.Generator` whose state is saved.
    ``extra``: anything else of the same kinds (epoch, history...). Returns the path.
    """
    path = Path(path)
    if not isinstance(model_params, dict) or not model_params:
        raise TypeError(f"model_params must be a non-empty dict name -> array, got "
                        f"{type(model_params).__name__}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")

    arrays: dict[str, np.ndarray] = {}
    for name, a in model_params.items():
        if not hasattr(a, "shape"):
            raise TypeError(f"model_params[{name!r}] must be an array, got {type(a).__name__}")
        _add_array(arrays, f"param/{name}", a, f"model_params[{name!r}]")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "config": _json_tree(config, "config", None, None),
        "optimizer": None if optimizer_state is None
        else _json_tree(optimizer_state, "optimizer_state", arrays, "optim"),
        "extra": None if extra is None else _json_tree(extra, "extra", arrays, "extra"),
        "rng": None if rng is None else _encode_rng(rng.bit_generator.state),
    }
    meta["arrays"] = [{"key": k, "shape": list(a.shape), "dtype": a.dtype.str}
                      for k, a in sorted(arrays.items())]
    meta["checksum"] = {"algorithm": "sha256", "hexdigest": _checksum(arrays)}
    blob = json.dumps(meta, allow_nan=True, sort_keys=True).encode("utf-8")
    arrays[META_KEY] = np.frombuffer(blob, dtype=np.uint8)
    _atomic_write(path, arrays)
    return path


def _write_npz(f, arrays):
    """The writer (a seam: tests replace it to simulate a crash half-way)."""
    np.savez(f, allow_pickle=False, **arrays)


def _atomic_write(path: Path, arrays):
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _add_array(arrays, key, a, where):
    h = np.ascontiguousarray(to_numpy(a))
    if h.dtype.kind not in "biufc":
        raise TypeError(f"{where} has dtype {h.dtype}; only numeric and bool arrays can be saved "
                        "(no pickled objects)")
    if key in arrays:
        raise ValueError(f"{where}: two entries map to the same archive key {key!r}; "
                         "rename one ('/' separates levels)")
    arrays[key] = h


def _json_tree(obj, where, arrays, prefix):
    """A JSON-able copy of ``obj``; arrays (only where ``arrays`` is given) become markers."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a key {k!r} of type {type(k).__name__}; keys must be str")
            out[k] = _json_tree(v, f"{where}[{k!r}]", arrays, prefix and f"{prefix}/{k}")
        return out
    if isinstance(obj, (list, tuple)):
        return [_json_tree(v, f"{where}[{i}]", arrays, prefix and f"{prefix}/{i}")
                for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        if arrays is None:
            raise TypeError(f"{where} is an array; it must hold JSON values only")
        _add_array(arrays, prefix, obj, where)
        return {"__array__": prefix}
    raise TypeError(f"{where} is a {type(obj).__name__}, which cannot be stored in a checkpoint "
                    "(use arrays, numbers, strings, bools, None, lists and dicts)")


def _encode_rng(state):
    """bit_generator.state as JSON: big ints as {"__int__": str}, arrays as {"__ndarray__": list}."""
    if isinstance(state, dict):
        return {k: _encode_rng(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"__ndarray__": state.tolist(), "dtype": state.dtype.str}
    if isinstance(state, (bool, np.bool_)):
        return bool(state)
    if isinstance(state, numbers.Integral):
        v = int(state)
        return {"__int__": str(v)} if abs(v) >= _MAX_SAFE_INT else v
    return state


def _decode_rng(state):
    if isinstance(state, dict):
        if "__int__" in state:
            return int(state["__int__"])
        if "__ndarray__" in state:
            return np.asarray(state["__ndarray__"], dtype=np.dtype(state["dtype"]))
        return {k: _decode_rng(v) for k, v in state.items()}
    return state


def _checksum(arrays) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = arrays[key]
        h.update(f"{key}\0{a.dtype.str}\0{tuple(a.shape)}\0".encode("utf-8"))
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# ---- loading -----------------------------------------------------------------------------------
def load_checkpoint(path, *, expected_config: dict | None = None, backend=None) -> Checkpoint:
    """Read and check a checkpoint written by :func:`save_checkpoint`.

    Every problem — a truncated or corrupted file, a wrong format or version, arrays that do not
    match the metadata or the checksum, a ``config`` that differs from ``expected_config`` —
    raises :class:`CheckpointError` naming the path and the problem. Arrays are moved to
    ``backend`` (a name or module; ``None``: ``MINILSTM_BACKEND``, else NumPy). A missing file
    raises :class:`FileNotFoundError`.
    """
    path = Path(path)
    xp = get_backend(backend)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    meta, arrays = _read(path)
    _check_arrays(path, meta, arrays)
    config = meta.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: the metadata holds no config dict")
    if expected_config is not None:
        _check_config(path, config, expected_config)

    moved = {k: xp.asarray(a) for k, a in arrays.items()}
    params = {k[len("param/"):]: a for k, a in moved.items() if k.startswith("param/")}
    try:
        optimizer_state = _fill_tree(meta.get("optimizer"), moved)
        extra = _fill_tree(meta.get("extra"), moved)
        rng = None if meta.get("rng") is None else _restore_rng(_decode_rng(meta["rng"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path}: the metadata is inconsistent ({type(e).__name__}: {e})") from e
    return Checkpoint(params, config, optimizer_state, rng, extra)


def _read(path):
    """(meta, arrays) from the file; any failure to read is a CheckpointError."""
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as e:  # not a zip/npy file at all, pickled data, a cut-off header...
        raise CheckpointError(f"{path}: cannot read the checkpoint, the file is truncated or "
                              f"corrupted or not a checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path}: not an .npz archive (a single .npy array?)")
    try:
        with z:
            files = list(z.files)
            if META_KEY not in files:
                raise CheckpointError(f"{path}: not a minilstm checkpoint (no {META_KEY} entry; "
                                      f"found {sorted(files)[:8]})")
            meta = json.loads(z[META_KEY].tobytes().decode("utf-8"))
            _check_header(path, meta)
            arrays = {k: z[k] for k in files if k != META_KEY}
    except CheckpointError:
        raise
    except Exception as e:  # BadZipFile, EOFError, CRC errors, bad JSON...
        raise CheckpointError(f"{path}: cannot read the checkpoint, the file is truncated or "
                              f"corrupted ({type(e).__name__}: {e})") from e
    return meta, arrays


def _check_header(path, meta):
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: the metadata is not a JSON object")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: format version {meta.get('version')!r} is not supported; "
                              f"this minilstm reads version {VERSION}")


def _check_arrays(path, meta, arrays):
    listed = meta.get("arrays")
    if not isinstance(listed, list):
        raise CheckpointError(f"{path}: the metadata holds no list of arrays")
    described = {e.get("key"): e for e in listed if isinstance(e, dict)}
    if set(described) != set(arrays):
        missing = sorted(set(described) - set(arrays))
        unlisted = sorted(set(arrays) - set(described))
        raise CheckpointError(f"{path}: arrays do not match the metadata; missing {missing}, "
                              f"not listed {unlisted}")
    for key, a in arrays.items():
        e = described[key]
        if list(a.shape) != list(e.get("shape", [])) or a.dtype.str != e.get("dtype"):
            raise CheckpointError(f"{path}: array {key!r} has shape {tuple(a.shape)} and dtype "
                                  f"{a.dtype.str}, the metadata says {tuple(e.get('shape', []))} "
                                  f"and {e.get('dtype')}")
    checksum = meta.get("checksum") or {}
    if checksum.get("algorithm") != "sha256" or checksum.get("hexdigest") != _checksum(arrays):
        raise CheckpointError(f"{path}: checksum mismatch, the array data is corrupted "
                              f"(sha256 expected {checksum.get('hexdigest')!r:.20}...)")


def _check_config(path, found, expected, what="expected_config", ignore=()):
    expected = json.loads(json.dumps(_json_tree(expected, what, None, None)))
    diffs = [d for d in _diff(expected, found, "")
             if not set(d.split(":")[0].split(".")) & set(ignore)]     # 'core_config.seed: ...'
    if diffs:
        raise CheckpointError(f"{path}: config does not match {what}: " + "; ".join(diffs))


_ABSENT = object()


def _diff(expected, found, where):
    """Human-readable differences, one per key: 'key: expected X, found Y'."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out = []
        for k in list(expected) + [k for k in found if k not in expected]:
            sub = f"{where}.{k}" if where else k
            out += _diff(expected.get(k, _ABSENT), found.get(k, _ABSENT), sub)
        return out
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        out = []                                 # e.g. a Stack's layers: 'layers.1.config.n_in'
        for k, (e, f) in enumerate(zip(expected, found)):
            out += _diff(e, f, f"{where}.{k}" if where else str(k))
        return out
    if expected is _ABSENT:
        return [f"{where}: not expected, found {found!r}"]
    if found is _ABSENT:
        return [f"{where}: expected {expected!r}, not in the checkpoint"]
    if expected != found or (type(expected) is bool) != (type(found) is bool):
        return [f"{where or 'config'}: expected {expected!r}, found {found!r}"]
    return []


def _fill_tree(tree, arrays):
    """Replace {"__array__": key} markers by the arrays."""
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return arrays[tree["__array__"]]
        return {k: _fill_tree(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_fill_tree(v, arrays) for v in tree]
    return tree


def _restore_rng(state):
    name = state["bit_generator"]
    cls = getattr(np.random, name, None)
    if not (isinstance(cls, type) and issubclass(cls, np.random.BitGenerator)):
        raise ValueError(f"unknown bit generator {name!r}")
    bit_generator = cls()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


# ---- models ------------------------------------------------------------------------------------
_INIT_ONLY = ("seed", "init_scale", "gate_bias_init", "backend")
"""Config keys that say how weights were initialised or where they live, not what the model is."""


def _check_model(model):
    """``model`` needs ``params`` (a dict), ``config`` and ``xp``: a model or a layer of minilstm."""
    if not isinstance(getattr(model, "params", None), dict) or not hasattr(model, "config") \
            or not hasattr(model, "xp"):
        raise TypeError(f"model must be a minilstm model or layer (with params, config and xp), "
                        f"got {type(model).__name__}")


def save_model(path, model, *, optimizer=None, rng=None, extra=None) -> Path:
    """:func:`save_checkpoint` of ``model.params`` and ``model.config`` (and ``optimizer``'s
    ``state_dict()``, ``rng``, ``extra``), for :func:`load_into`. Returns the path."""
    _check_model(model)
    if optimizer is not None and not callable(getattr(optimizer, "state_dict", None)):
        raise TypeError(f"optimizer must be a minilstm.optim optimizer or None, got {type(optimizer).__name__}")
    return save_checkpoint(path, model_params=model.params, config=model.config,
                           optimizer_state=None if optimizer is None else optimizer.state_dict(),
                           rng=rng, extra=extra)


def load_into(model, path, *, optimizer=None) -> Checkpoint:
    """Load the checkpoint at ``path`` into ``model`` (and ``optimizer``) in place.

    ``model`` : anything with ``params`` (name → array) and ``config``, e.g. a
    :class:`~minilstm.nn.model.SequenceModel` or a layer built with the checkpoint's preset. Checked
    first, each a :class:`CheckpointError` that names what differs:

    * the configuration: every key of ``model.config`` (nested: ``core_config.peepholes``, and in
      lists by position: ``core_config.layers.1.config.n_in`` for a stack) must
      equal the checkpoint's, except ``seed``, ``init_scale``, ``gate_bias_init`` and ``backend``;
    * the parameters: the same names, and each with the model's shape.

    Then every parameter is copied into the model's array (views into fused buffers stay views)
    and, with ``optimizer``, its state is restored (``optimizer.load_state_dict``). Returns the
    :class:`Checkpoint` (for ``rng`` and ``extra``).
    """
    _check_model(model)
    path = Path(path)
    ck = load_checkpoint(path, backend=model.xp)
    _check_config(path, ck.config, model.config,
                  "the model's config (expected: the model's, found: the checkpoint's)", _INIT_ONLY)
    missing = sorted(set(model.params) - set(ck.params))
    unexpected = sorted(set(ck.params) - set(model.params))
    if missing or unexpected:
        raise CheckpointError(f"{path}: parameters do not match the model's; missing {missing}, "
                              f"not in the model {unexpected}")
    for name, p in model.params.items():
        if tuple(ck.params[name].shape) != tuple(p.shape):
            raise CheckpointError(f"{path}: parameter {name!r} has shape "
                                  f"{tuple(ck.params[name].shape)} in the checkpoint, "
                                  f"{tuple(p.shape)} in the model")
    if optimizer is not None and ck.optimizer_state is None:
        raise CheckpointError(f"{path}: holds no optimizer state to load into {optimizer!r:.60}")
    for name, p in model.params.items():
        p[...] = ck.params[name]
    if optimizer is not None:
        try:
            optimizer.load_state_dict(ck.optimizer_state)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: the optimizer state does not fit: {e}") from e
    return ck
