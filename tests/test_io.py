"""Checkpoints: round trips on every backend, atomic writes, and a clear CheckpointError for every
kind of damaged or mismatched file."""
import json
import os
import re

import numpy as np
import pytest

from minilstm import io
from minilstm.backend import get_array_module, to_numpy
from minilstm.io import CheckpointError, load_checkpoint, save_checkpoint
from minilstm.nn.readout import Linear
from minilstm.optim import Adam

CONFIG = {"n_in": 3, "n_out": 2, "bias": True, "init_scale": 0.1, "dtype": "float64"}


def trained(xp):
    """A layer and an Adam optimiser two steps in, on backend ``xp``."""
    layer = Linear(3, 2, rng=0, backend=xp)
    opt = Adam(layer.params, lr=0.01)
    for _ in range(2):
        opt.step({k: xp.ones_like(v) for k, v in layer.params.items()})
    return layer, opt


def save(path, xp=np, **kw):
    layer, opt = trained(xp)
    args = dict(model_params=layer.params, config=layer.config, optimizer_state=opt.state_dict(),
                rng=np.random.default_rng(5), extra={"epoch": 7, "history": np.arange(3.0)})
    args.update(kw)
    save_checkpoint(path, **args)
    return layer, opt


def rewrite(path, edit):
    """Rewrite the archive (a valid zip) after ``edit(arrays, meta)``; returns nothing."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays.pop("__meta__").tobytes())
    edit(arrays, meta)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_round_trip_on_every_backend(tmp_path, xp):
    path = tmp_path / "ckpt.npz"
    layer, opt = save(path, xp)
    ck = load_checkpoint(path, expected_config=CONFIG, backend=xp)
    assert ck.config == CONFIG
    assert set(ck.params) == {"W", "b"}
    for k, v in layer.params.items():
        assert get_array_module(ck.params[k]) is xp
        np.testing.assert_array_equal(to_numpy(ck.params[k]), to_numpy(v))
    assert ck.extra["epoch"] == 7
    np.testing.assert_array_equal(to_numpy(ck.extra["history"]), [0.0, 1.0, 2.0])
    # the optimiser resumes exactly where it was
    fresh = Linear(3, 2, rng=99, backend=xp)
    for k in fresh.params:
        fresh.params[k][...] = ck.params[k]
    opt2 = Adam(fresh.params)
    opt2.load_state_dict(ck.optimizer_state)
    assert opt2.t == 2 and opt2.lr == 0.01 and opt2.betas == (0.9, 0.999)
    g = {k: xp.ones_like(v) for k, v in layer.params.items()}
    opt.step(g)
    opt2.step(g)
    for k in layer.params:
        np.testing.assert_array_equal(to_numpy(fresh.params[k]), to_numpy(layer.params[k]))
    # and so does the random generator
    expected = np.random.default_rng(5).random(4)
    np.testing.assert_array_equal(ck.rng.random(4), expected)


def test_file_format_is_plain_npz_with_json_metadata(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path)
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == {"param/W", "param/b", "optim/m/W", "optim/m/b", "optim/v/W",
                                "optim/v/b", "extra/history", "__meta__"}
        assert z["__meta__"].dtype == np.uint8
        meta = json.loads(z["__meta__"].tobytes().decode("utf-8"))
    assert meta["format"] == "minilstm-checkpoint" and meta["version"] == 1
    assert meta["config"] == CONFIG
    assert {"key": "param/W", "shape": [2, 3], "dtype": "<f8"} in meta["arrays"]
    assert meta["optimizer"]["t"] == 2 and meta["optimizer"]["m"]["W"] == {"__array__": "optim/m/W"}
    assert meta["checksum"]["algorithm"] == "sha256" and len(meta["checksum"]["hexdigest"]) == 64
    state = meta["rng"]["state"]["state"]                  # PCG64's 128-bit ints as strings
    assert isinstance(state, dict) and isinstance(state["__int__"], str)


def test_mt19937_state_with_an_array_round_trips(tmp_path):
    rng = np.random.Generator(np.random.MT19937(3))
    rng.random(10)
    path = tmp_path / "mt.npz"
    save_checkpoint(path, model_params={"w": np.zeros(2)}, config={}, rng=rng)
    ck = load_checkpoint(path, backend="numpy")
    np.testing.assert_array_equal(ck.rng.random(5), rng.random(5))
    assert ck.optimizer_state is None and ck.extra is None


def test_crash_while_writing_keeps_the_previous_checkpoint_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    layer, _ = save(path)
    before = path.read_bytes()

    def crashing_writer(f, arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise RuntimeError("power cut")

    monkeypatch.setattr(io, "_write_npz", crashing_writer)
    with pytest.raises(RuntimeError, match="power cut"):
        save(path, model_params={"W": np.full((2, 3), 7.0), "b": np.zeros(2)})
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert path.read_bytes() == before
    ck = load_checkpoint(path, expected_config=CONFIG)
    np.testing.assert_array_equal(ck.params["W"], layer.params["W"])

    fresh = tmp_path / "new.npz"                            # no previous file: nothing at all
    with pytest.raises(RuntimeError):
        save(fresh)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]


def test_a_truncated_file_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100, 3):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*truncated or corrupted"):
            load_checkpoint(path)


def test_a_corrupted_byte_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    layer, _ = save(path)
    data = bytearray(path.read_bytes())
    at = data.find(layer.params["W"].tobytes()) + 13         # inside W's numbers
    assert at > 13
    data[at] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_checkpoint(path)


def test_tampered_arrays_fail_the_checksum(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path)

    def edit(arrays, meta):
        arrays["param/W"] = arrays["param/W"] + 1e-12          # a valid zip, different numbers

    rewrite(path, edit)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": checksum mismatch"):
        load_checkpoint(path)


def test_wrong_format_or_version(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path)
    rewrite(path, lambda arrays, meta: meta.update(version=2))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": format version 2 is not supported; this minilstm reads version 1"):
        load_checkpoint(path)
    rewrite(path, lambda arrays, meta: meta.update(format="something-else", version=1))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": format is 'something-else', expected 'minilstm-checkpoint'"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(CheckpointError, match=re.escape(str(plain)) + ": not a minilstm checkpoint"):
        load_checkpoint(plain)
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(CheckpointError, match="not an .npz archive"):
        load_checkpoint(npy)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x80\x04 this is no checkpoint")
    with pytest.raises(CheckpointError, match=re.escape(str(junk))):
        load_checkpoint(junk)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.npz")


def test_config_mismatch_names_the_key(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": config does not match expected_config: "
                                              "n_out: expected 5, found 2"):
        load_checkpoint(path, expected_config={**CONFIG, "n_out": 5})
    with pytest.raises(CheckpointError, match="bias: expected 1, found True"):
        load_checkpoint(path, expected_config={**CONFIG, "bias": 1})
    with pytest.raises(CheckpointError, match="lr: expected 0.1, not in the checkpoint"):
        load_checkpoint(path, expected_config={**CONFIG, "lr": 0.1})
    less = dict(CONFIG)
    del less["dtype"]
    with pytest.raises(CheckpointError, match="dtype: not expected, found 'float64'"):
        load_checkpoint(path, expected_config=less)


def test_shapes_not_matching_the_metadata(tmp_path):
    path = tmp_path / "ckpt.npz"
    save(path)
    rewrite(path, lambda arrays, meta: arrays.update({"param/W": np.zeros((3, 2))}))
    with pytest.raises(CheckpointError, match=r"array 'param/W' has shape \(3, 2\) and dtype <f8, "
                                              r"the metadata says \(2, 3\)"):
        load_checkpoint(path)
    save(path)
    rewrite(path, lambda arrays, meta: arrays.pop("optim/v/b"))
    with pytest.raises(CheckpointError, match=r"arrays do not match the metadata; missing \['optim/v/b'\]"):
        load_checkpoint(path)


def test_what_cannot_be_saved(tmp_path):
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TypeError, match=r"model_params\['w'\] has dtype object"):
        save_checkpoint(path, model_params={"w": np.array([{}, 1], dtype=object)}, config={})
    with pytest.raises(TypeError, match=r"extra\['f'\] is a function"):
        save_checkpoint(path, model_params={"w": np.zeros(1)}, config={}, extra={"f": lambda: 0})
    with pytest.raises(TypeError, match=r"config\['a'\] is an array"):
        save_checkpoint(path, model_params={"w": np.zeros(1)}, config={"a": np.zeros(2)})
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        save_checkpoint(path, model_params={"w": np.zeros(1)}, config={}, rng=3)
    assert not path.exists() and os.listdir(tmp_path) == []


# ---- a writer killed in the middle of a save ---------------------------------------------------
_CHILD = r"""
import sys, time
import numpy as np
from minilstm import io

path, ready = sys.argv[1], sys.argv[2]

def blocking_writer(f, arrays):          # half an archive on disk, then hang until killed
    f.write(b"PK\x03\x04" + bytes(4096))
    f.flush()
    open(ready, "w").close()
    time.sleep(120)

io._write_npz = blocking_writer
io.save_checkpoint(path, model_params={"W": np.full((2, 3), 7.0), "b": np.zeros(2)}, config={})
"""


def test_a_writer_killed_mid_save_leaves_the_previous_checkpoint_and_no_checkpoint_lookalike(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    path, ready = tmp_path / "ckpt.npz", tmp_path / "ready"
    layer, _ = save(path)
    before = path.read_bytes()
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(ready)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the child exited before blocking in the write"
            assert time.monotonic() < deadline, "the child never reached the write"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)               # no except/finally runs in the child
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    ready.unlink()
    assert path.read_bytes() == before                   # the previous checkpoint, untouched
    ck = load_checkpoint(path, expected_config=CONFIG)
    np.testing.assert_array_equal(ck.params["W"], layer.params["W"])
    stray = [p for p in tmp_path.iterdir() if p != path]
    assert len(stray) == 1 and stray[0].name.startswith(".ckpt.npz.") and stray[0].suffix == ".tmp"
    assert stray[0].stat().st_size > 0                   # the half-written archive is still there
    assert sorted(tmp_path.glob("*.npz")) == [path]      # not a checkpoint by name ...
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(stray[0])                        # ... nor by content
    save(path)                                           # the next save works as usual
    load_checkpoint(path, expected_config=CONFIG)


# ---- loading into an existing model ------------------------------------------------------------
def _seq_model(preset, seed, xp=np, **kw):
    from minilstm.nn.model import SequenceModel
    from minilstm import presets
    core = getattr(presets, preset)(3, 2, 2, seed=seed, backend=xp, **kw) if preset != "vanilla" \
        else presets.vanilla(3, 4, seed=seed, backend=xp, **kw)
    return SequenceModel(core, 2, seed=seed + 1)


def test_load_into_a_model_of_the_same_preset_on_every_backend(tmp_path, xp):
    path = tmp_path / "m.npz"
    src = _seq_model("lstm_forget_1999", 0, gate_bias_init={"f": [1.0, 2.0]})
    opt = Adam(src.params, lr=0.01)
    opt.step({k: np.ones_like(v) for k, v in src.params.items()})
    io.save_model(path, src, optimizer=opt, extra={"epoch": 3})
    dst = _seq_model("lstm_forget_1999", 7, xp)          # other seed, backend and bias init: fine
    dst_opt = Adam(dst.params)
    views = dict(dst.params)
    ck = io.load_into(dst, path, optimizer=dst_opt)
    assert ck.extra["epoch"] == 3 and dst_opt.t == 1 and dst_opt.lr == 0.01
    for k, v in src.params.items():
        assert dst.params[k] is views[k]                 # loaded in place: views stay views
        np.testing.assert_array_equal(to_numpy(dst.params[k]), v)
    flat = to_numpy(dst.core.flat)
    np.testing.assert_array_equal(flat, src.core.flat)


def test_load_into_another_preset_names_the_config_keys_that_differ(tmp_path):
    path = tmp_path / "m.npz"
    io.save_model(path, _seq_model("lstm_forget_1999", 0))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": config does not match the "
                       r"model's config .*core_config\.peepholes: expected True, found False.*"
                       r"core_config\.g: expected 'tanh', found 'g1997'.*core_config\.recurrence: "
                       r"expected 'output', found 'all'"):
        io.load_into(_seq_model("vanilla", 0), path)
    with pytest.raises(CheckpointError, match=r"core_config\.forget_gate: expected False, found True"):
        io.load_into(_seq_model("lstm_1997", 0), path)


def test_load_into_names_a_parameter_of_the_wrong_shape_or_a_missing_one(tmp_path):
    path = tmp_path / "m.npz"
    model = _seq_model("lstm_1997", 0)
    params = {k: to_numpy(v) for k, v in model.params.items()}
    save_checkpoint(path, model_params={**params, "core.W_z": np.zeros((4, 5))}, config=model.config)
    with pytest.raises(CheckpointError, match=r"parameter 'core.W_z' has shape \(4, 5\) in the "
                                              r"checkpoint, \(4, 3\) in the model"):
        io.load_into(model, path)
    del params["readout.b"]
    save_checkpoint(path, model_params=params, config=model.config)
    with pytest.raises(CheckpointError, match=r"missing \['readout.b'\], not in the model \[\]"):
        io.load_into(model, path)
    io.save_model(path, model)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        io.load_into(model, path, optimizer=Adam(model.params))


def test_a_language_model_with_a_stack_round_trips(tmp_path):
    """Embedding → Stack(LSTM, Bidirectional(GRU, RNN)) → readout: saved and loaded into a model
    built with other seeds (the nested configs are compared layer by layer, seeds ignored); a
    model of another shape is refused, naming the nested key."""
    import minilstm
    from minilstm import io

    def build(seed, n=2):
        core = minilstm.Stack([minilstm.LSTM(3, 4, seed=seed),
                               minilstm.Bidirectional(minilstm.GRU(4, n, seed=seed), minilstm.RNN(4, n, seed=seed))],
                              dropout=0.2, seed=seed)
        return minilstm.SequenceModel(core, 5, loss="cross_entropy", seed=seed,
                                      embedding=minilstm.Embedding(5, 3, seed=seed))

    model, other = build(0), build(9)
    path = io.save_model(tmp_path / "lm.npz", model)
    io.load_into(other, path)
    assert all(np.array_equal(model.params[k], other.params[k]) for k in model.params)
    with pytest.raises(io.CheckpointError, match=r"layers\.1\.config\.forward_layer\.config\.n_hidden: expected 3, found 2"):
        io.load_into(build(0, n=3), path)
