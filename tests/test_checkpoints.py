"""Checkpoint layout, NVIDIA pickle and rosinality importers, and the pickle safety model.

Every foreign file is written here by test code: NVIDIA pickles are imitated with stand-in
classes that pickle under the official global names, rosinality checkpoints are built
from our own networks through the inverse of the key map.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import types
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from latentedit.checkpoints import (
    detect_format,
    fingerprint,
    import_checkpoint,
    load_networks,
    read_metadata,
    safepickle,
    save_networks,
)
from latentedit.checkpoints.rosinality import KeyRule, discriminator_rules, generator_rules
from latentedit.errors import CheckpointError, FileExistsNoForceError, UnsafePickleError

G_KWARGS: dict[str, Any] = {
    "z_dim": 32,
    "c_dim": 0,
    "w_dim": 32,
    "img_resolution": 16,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2},
    "synthesis_kwargs": {"channel_base": 256, "channel_max": 32},
}
D_KWARGS: dict[str, Any] = {"c_dim": 0, "img_resolution": 16, "img_channels": 3, "channel_base": 256, "channel_max": 32}


def _perturbed(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial values everywhere (biases, noise strengths, w_avg start at zero)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if not name.endswith("resample_filter"):
                tensor.add_(torch.randn(tensor.shape, generator=generator) * 0.3)
    return net.eval().requires_grad_(False)


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """These networks are tiny: extra threads only add contention on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def nets() -> tuple[torch.nn.Module, torch.nn.Module]:
    from latentedit.nets import Discriminator, Generator

    with torch.random.fork_rng():
        torch.manual_seed(0)
        G = _perturbed(Generator(**G_KWARGS), 1)
        D = _perturbed(Discriminator(**D_KWARGS), 2)
    return G, D


def _images(G: torch.nn.Module, noise_mode: str = "const") -> torch.Tensor:
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return G.synthesis(G.mapping(z, None, truncation_psi=0.7), noise_mode=noise_mode)


def _logits(D: torch.nn.Module) -> torch.Tensor:
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        return D(x, None)


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --- imitation NVIDIA pickles -------------------------------------------------------------


@contextlib.contextmanager
def _official_names(**modules: dict[str, Any]) -> Iterator[None]:
    """Expose objects under the official module paths while pickling, so pickle names them so."""
    saved = {name: sys.modules.get(name) for name in modules}
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        for attribute, value in attributes.items():
            setattr(module, attribute, value)
            value.__module__, value.__qualname__ = name, attribute
        sys.modules[name] = module
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def _reconstruct_persistent_obj(meta: dict[str, Any]) -> None:
    raise AssertionError("only pickled here, never called")


class EasyDict(dict):
    """Pickles as dnnlib.util.EasyDict."""


class Network:
    """Pickles as dnnlib.tflib.network.Network (a TensorFlow StyleGAN2 pickle)."""


class _Persistent:
    """Reduces like a torch_utils.persistence object: `_reconstruct_persistent_obj(meta)`."""

    def __init__(self, class_name: str, state: dict[str, Any], module_src: str = "") -> None:
        self.meta = {"type": "class", "version": 6, "module_src": module_src, "class_name": class_name, "state": state}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reconstruct_persistent_obj, (self.meta,))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _numpy_attributes(module: torch.nn.Module) -> dict[str, Any]:
    """A module's plain attributes as the official StyleGAN3 code keeps them: sizes as numpy
    arrays, rates and cutoffs as numpy floats, names as lists of strings."""
    kept: dict[str, Any] = {}
    for name, value in vars(module).items():
        if isinstance(value, tuple) and all(isinstance(item, int) for item in value):
            kept[name] = np.array(value)
        elif isinstance(value, float):
            kept[name] = np.float64(value)
        elif isinstance(value, (bool, int, str)) or _strings(value):
            kept[name] = value
    return kept


def _persistent(
    module: torch.nn.Module,
    init_kwargs: dict[str, Any] | None = None,
    *,
    source: str = "",
    names: dict[str, str] | None = None,
) -> _Persistent:
    """A network pickled the way `persistence.persistent_class` pickles it (state = module __dict__).

    With `names` (our class names -> the official ones, for StyleGAN3), every module also carries
    its plain attributes as the official modules hold them (`_numpy_attributes`).
    """
    children = OrderedDict(
        (name, _persistent(child, source=source, names=names)) for name, child in module._modules.items()
    )
    kwargs = init_kwargs or {}
    state = {
        "training": False,
        "_parameters": OrderedDict(module._parameters),
        "_buffers": OrderedDict(module._buffers),
        "_non_persistent_buffers_set": set(module._non_persistent_buffers_set),
        "_forward_hooks": OrderedDict(),
        "_modules": children,
        "weight_gain": np.float64(0.125),
        "_init_args": (),
        "_init_kwargs": EasyDict({k: EasyDict(v) if isinstance(v, dict) else v for k, v in kwargs.items()}),
    }
    if names is not None:
        state.update(_numpy_attributes(module))
    own = type(module).__name__
    return _Persistent((names or {}).get(own, own), state, source)


def write_nvidia_pickle(path: Path, snapshot: dict[str, Any]) -> Path:
    with _official_names(
        **{
            "torch_utils": {},
            "torch_utils.persistence": {"_reconstruct_persistent_obj": _reconstruct_persistent_obj},
            "dnnlib": {},
            "dnnlib.util": {"EasyDict": EasyDict},
            "dnnlib.tflib": {},
            "dnnlib.tflib.network": {"Network": Network},
        }
    ):
        path.write_bytes(pickle.dumps(snapshot, protocol=4))
    return path


def nvidia_snapshot(G: torch.nn.Module, D: torch.nn.Module | None) -> dict[str, Any]:
    snapshot = {
        "G": _persistent(G, G.init_kwargs),
        "G_ema": _persistent(G, G.init_kwargs),
        "augment_pipe": None,
        "training_set_kwargs": EasyDict(path="data.zip", resolution=16),
    }
    if D is not None:
        snapshot["D"] = _persistent(D, D.init_kwargs)
    return snapshot


# --- layout -----------------------------------------------------------------------------------


def test_save_load_round_trip_keeps_images_and_metadata(tmp_path: Path, nets) -> None:
    G, D = nets
    path = save_networks(tmp_path / "net.safetensors", G, D, source_format="nvidia-pickle", source_sha256="ab" * 32)
    loaded = load_networks(path)
    assert torch.equal(_images(loaded.G), _images(G))
    assert torch.equal(_logits(loaded.D), _logits(D))
    assert loaded.metadata["latentedit.checkpoint"] == "1"
    assert loaded.metadata["source_format"] == "nvidia-pickle"
    assert json.loads(loaded.metadata["generator"]) == json.loads(json.dumps(G.init_kwargs))
    assert fingerprint(path) == fingerprint(loaded) == fingerprint(G)
    assert len(fingerprint(G)) == 12


def test_fingerprint_tells_generators_apart(nets) -> None:
    from latentedit.nets import Generator

    other = _perturbed(Generator(**G_KWARGS), 3)
    assert fingerprint(other) != fingerprint(nets[0])


def test_generator_only_checkpoint(tmp_path: Path, nets) -> None:
    path = save_networks(tmp_path / "g.safetensors", nets[0], source_format="latentedit")
    G, D, metadata = load_networks(path)
    assert D is None and "discriminator" not in metadata


def test_save_refuses_to_overwrite_without_force(tmp_path: Path, nets) -> None:
    path = save_networks(tmp_path / "net.safetensors", nets[0], source_format="latentedit")
    with pytest.raises(FileExistsNoForceError):
        save_networks(path, nets[0], source_format="latentedit")
    save_networks(path, nets[0], nets[1], source_format="latentedit", force=True)
    assert load_networks(path).D is not None


def test_fp16_file_loads_as_float32(tmp_path: Path, nets) -> None:
    G = nets[0]
    path = save_networks(tmp_path / "net.safetensors", G, source_format="latentedit")
    metadata = read_metadata(path)
    half = {f"G.{k}": v.half() for k, v in G.state_dict().items()}
    save_file(half, str(tmp_path / "half.safetensors"), metadata=metadata)
    loaded = load_networks(tmp_path / "half.safetensors")
    assert all(t.dtype == torch.float32 for t in loaded.G.state_dict().values())
    assert fingerprint(tmp_path / "half.safetensors") == fingerprint(loaded)
    assert torch.allclose(_images(loaded.G), _images(G), atol=0.1)


def _rewrite(path: Path, edit) -> Path:
    """Re-save a checkpoint after `edit(tensors, metadata)` changed it."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        metadata = dict(handle.metadata())
    edit(tensors, metadata)
    bad = path.with_name("bad.safetensors")
    save_file(tensors, str(bad), metadata=metadata)
    return bad


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t, m: t.pop("G.synthesis.b4.const"), "missing tensor G.synthesis.b4.const"),
        (lambda t, m: t.update({"G.extra": torch.zeros(1)}), "unexpected tensor G.extra"),
        (lambda t, m: t.update({"X.thing": torch.zeros(1)}), "unexpected tensor X.thing"),
        (lambda t, m: t.update({"G.synthesis.b4.const": torch.zeros(3)}), "has shape [3], expected"),
        (lambda t, m: t["G.mapping.fc0.weight"].__setitem__((0, 0), float("nan")), "non-finite"),
        (lambda t, m: m.pop("latentedit.checkpoint"), "not a latentedit checkpoint"),
        (lambda t, m: m.update({"latentedit.checkpoint": "7"}), "version '7' is not supported"),
        (lambda t, m: m.update({"generator": "{not json"}), "not valid JSON"),
        (lambda t, m: m.update({"generator": "[" * 100_000 + "]" * 100_000}), "nests JSON too deeply"),
        (lambda t, m: m.update({"generator": json.dumps({"bogus": 1})}), "unknown generator setting 'bogus'"),
        (lambda t, m: m.update({"generator": json.dumps({"z_dim": 8})}), "generator settings are not valid"),
    ],
)
def test_load_rejects_damaged_checkpoints(tmp_path: Path, nets, edit, message: str) -> None:
    path = save_networks(tmp_path / "net.safetensors", nets[0], source_format="latentedit")
    bad = _rewrite(path, edit)
    with pytest.raises(CheckpointError) as info:
        load_networks(bad)
    text = str(info.value)
    assert message in text and str(bad) in text and "\n" not in text


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint", b"\x10\x00\x00\x00\x00\x00\x00\x00{bad"])
def test_load_rejects_files_that_are_not_safetensors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_networks(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_networks(tmp_path / "absent.safetensors")


# --- NVIDIA pickles ----------------------------------------------------------------------------


def test_nvidia_pickle_round_trip(tmp_path: Path, nets) -> None:
    G, D = nets
    source = write_nvidia_pickle(tmp_path / "network-snapshot.pkl", nvidia_snapshot(G, D))
    assert detect_format(source) == "nvidia-pickle"
    report = import_checkpoint(source, tmp_path / "out.safetensors")
    loaded = load_networks(report.out)
    assert _same_state(loaded.G, G) and _same_state(loaded.D, D)
    assert torch.equal(_images(loaded.G), _images(G))
    assert torch.equal(_images(loaded.G, "none"), _images(G, "none"))
    assert torch.equal(_logits(loaded.D), _logits(D))
    assert (report.format, report.resolution, report.num_ws) == ("nvidia-pickle", 16, G.num_ws)
    assert report.has_discriminator and report.fingerprint == fingerprint(G)
    assert loaded.metadata["source_name"] == "network-snapshot.pkl"
    assert loaded.metadata["source_sha256"] == report.source_sha256 != ""


def test_nvidia_pickle_without_g_ema_or_d(tmp_path: Path, nets) -> None:
    snapshot = nvidia_snapshot(nets[0], None)
    del snapshot["G_ema"]
    report = import_checkpoint(write_nvidia_pickle(tmp_path / "g.pkl", snapshot), tmp_path / "g.safetensors")
    assert not report.has_discriminator
    assert any("no G_ema" in note for note in report.notes)


def test_stylegan3_repo_stylegan2_pickle_gets_ada_kwargs(tmp_path: Path, nets) -> None:
    G = nets[0]
    flat = {k: v for k, v in G.init_kwargs.items() if k != "synthesis_kwargs"}
    flat.update(G_KWARGS["synthesis_kwargs"], fused_modconv_default="inference_only", num_fp16_res=0, conv_clamp=None)
    snapshot = {"G_ema": _persistent(G, flat)}
    report = import_checkpoint(write_nvidia_pickle(tmp_path / "sg2.pkl", snapshot), tmp_path / "sg2.safetensors")
    loaded = load_networks(report.out)
    assert loaded.G.init_kwargs["synthesis_kwargs"]["channel_base"] == 256
    assert torch.equal(_images(loaded.G), _images(G))


class _Evil:
    """A pickle payload that would create `marker` if it were ever called."""

    def __init__(self, how: str, marker: Path) -> None:
        self.how, self.marker = how, marker

    def __reduce__(self) -> tuple[Any, ...]:
        if self.how == "os.system":
            return (os.system, (f"touch {self.marker}",))
        if self.how == "builtins.eval":
            return (eval, (f"open({str(self.marker)!r}, 'w')",))
        return (subprocess.Popen, (["touch", str(self.marker)],))


def _protocol0_global(module: str, name: str, marker: Path) -> bytes:
    return f"c{module}\n{name}\n(Vtouch {marker}\ntR.".encode()


@pytest.mark.parametrize("how", ["os.system", "builtins.eval", "subprocess.Popen", "raw posix.system", "raw os.system"])
def test_malicious_pickle_is_refused_without_side_effects(tmp_path: Path, nets, how: str) -> None:
    marker = tmp_path / "pwned"
    source = tmp_path / "evil.pkl"
    if how.startswith("raw"):
        module, name = how.split()[1].split(".")
        source.write_bytes(b"\x80\x04" + _protocol0_global(module, name, marker))
    else:
        snapshot = nvidia_snapshot(nets[0], nets[1])
        snapshot["G_ema"].meta["state"]["_init_kwargs"]["payload"] = _Evil(how, marker)
        write_nvidia_pickle(source, snapshot)
    out = tmp_path / "out" / "net.safetensors"
    with pytest.raises(UnsafePickleError) as info:
        import_checkpoint(source, out)
    expected = {"os.system": "posix.system", "builtins.eval": "builtins.eval", "subprocess.Popen": "subprocess.Popen"}
    assert expected.get(how, how.split()[-1]) in str(info.value)
    assert not marker.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_storage_blob_with_code_is_refused(tmp_path: Path) -> None:
    """A storage blob goes to torch's weights-only loader, which refuses globals too."""
    marker = tmp_path / "pwned"
    blob = io.BytesIO()
    torch.save(_Evil("os.system", marker), blob, _use_new_zipfile_serialization=False)

    class Storage:
        def __reduce__(self) -> tuple[Any, ...]:
            return (torch.storage._load_from_bytes, (blob.getvalue(),))

    source = tmp_path / "evil.pkl"
    source.write_bytes(pickle.dumps({"G_ema": Storage()}, protocol=4))
    with pytest.raises(UnsafePickleError):
        import_checkpoint(source, tmp_path / "out.safetensors")
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


def test_tensorflow_pickle_is_reported(tmp_path: Path) -> None:
    source = write_nvidia_pickle(tmp_path / "tf.pkl", {"nets": (Network(), Network(), Network())})
    with pytest.raises(CheckpointError, match="TensorFlow pickles are not supported; convert it with the official"):
        import_checkpoint(source, tmp_path / "out.safetensors")


def test_truncated_and_corrupt_pickles(tmp_path: Path, nets) -> None:
    good = write_nvidia_pickle(tmp_path / "good.pkl", nvidia_snapshot(nets[0], nets[1])).read_bytes()
    for name, data in [("truncated.pkl", good[: len(good) // 2]), ("garbage.pkl", b"\x80\x04" + bytes(range(256)) * 4)]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError) as info:
            import_checkpoint(tmp_path / name, tmp_path / "out.safetensors")
        assert name in str(info.value) and not isinstance(info.value, UnsafePickleError)
    assert not (tmp_path / "out.safetensors").exists()


def test_pickle_cannot_modify_allow_listed_globals(tmp_path: Path) -> None:
    source = tmp_path / "build.pkl"
    source.write_bytes(b"\x80\x04ctorch._utils\n_rebuild_parameter\n(N}S'__defaults__'\nI1\nstb.")
    with pytest.raises(CheckpointError, match="modify an allow-listed global"):
        import_checkpoint(source, tmp_path / "out.safetensors")


def test_pickle_that_is_not_a_network(tmp_path: Path) -> None:
    source = tmp_path / "list.pkl"
    source.write_bytes(pickle.dumps([1, 2, 3], protocol=4))
    with pytest.raises(CheckpointError, match="not a StyleGAN2 or StyleGAN3 network pickle"):
        import_checkpoint(source, tmp_path / "out.safetensors")


def test_unknown_file_type(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    with pytest.raises(CheckpointError, match="not a checkpoint latentedit knows"):
        import_checkpoint(source, tmp_path / "out.safetensors")


# --- bounded importer: hostile pickles refused before they cost memory or leak it ----------------


class _View:
    """Pickles as `torch._utils._rebuild_tensor_v2/3(storage, offset, size, stride, ...)`: any view at all.

    With `state`, pickle follows the rebuild with BUILD(state), i.e. `Tensor.__setstate__(state)`.
    """

    def __init__(self, storage: Any, offset: int, size: tuple[int, ...], stride: tuple[int, ...], **extra: Any) -> None:
        self.args = (storage, offset, size, stride, False, OrderedDict())
        self.dtype, self.state = extra.get("dtype"), extra.get("state")

    def __reduce__(self) -> tuple[Any, ...]:
        if self.dtype is not None:
            return (torch._utils._rebuild_tensor_v3, (*self.args, self.dtype))
        if self.state is not None:
            return (torch._utils._rebuild_tensor_v2, self.args, self.state)
        return (torch._utils._rebuild_tensor_v2, self.args)


def _contiguous(shape: tuple[int, ...]) -> tuple[int, ...]:
    return torch.empty(shape).stride()


def _storage(values: torch.Tensor) -> torch.TypedStorage:
    """A typed storage, as official pickles hold them (torch warns that the class is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return values.storage()


def _const_view(shape: tuple[int, ...], how: str) -> _View:
    """A view for a parameter of `shape` that reaches past its storage in the way `how` names."""
    numel, stride = math.prod(shape), _contiguous(shape)
    exact = _storage(torch.arange(float(numel)))
    views = {
        "size": lambda: _View(_storage(torch.arange(4.0)), 0, shape, stride),
        "offset": lambda: _View(exact, 1, shape, stride),
        "stride": lambda: _View(exact, 0, shape, tuple(2 * step for step in stride)),
        "broadcast": lambda: _View(_storage(torch.ones(1)), 0, shape, (0,) * len(shape)),
        "dtype": lambda: _View(exact, 0, shape, stride, dtype=torch.float64),
        "negative stride": lambda: _View(exact, numel - 1, shape, tuple(-step for step in stride)),
        "build": lambda: _View(exact, 0, (1,), (1,), state=(_storage(torch.arange(4.0)), 0, shape, stride)),
        "fits": lambda: _View(_storage(torch.arange(float(numel + 3))), 3, shape, stride),
    }
    return views[how]()


def _b4_params(snapshot: dict[str, Any], key: str = "G_ema") -> OrderedDict:
    synthesis = snapshot[key].meta["state"]["_modules"]["synthesis"]
    return synthesis.meta["state"]["_modules"]["b4"].meta["state"]["_parameters"]


def hostile_snapshot(G: torch.nn.Module, D: torch.nn.Module, how: str) -> dict[str, Any]:
    """A network snapshot whose synthesis.b4.const is a view of the kind `how` (see `_const_view`)."""
    snapshot = nvidia_snapshot(G, D)
    for key in ("G", "G_ema"):
        _b4_params(snapshot, key)["const"] = _const_view(tuple(G.synthesis.b4.const.shape), how)
    return snapshot


VIEW_REFUSALS = {
    "size": "reaches beyond its storage of 4 elements",
    "offset": "reaches beyond its storage",
    "stride": "reaches beyond its storage",
    "broadcast": "reaches beyond its storage of 1 elements",
    "dtype": "reaches beyond its storage",
    "negative stride": "malformed stride",
    "build": "modify a tensor after it was built",
}


@pytest.mark.parametrize("how", sorted(VIEW_REFUSALS))
def test_tensor_view_beyond_its_storage_is_refused(tmp_path: Path, nets, how: str) -> None:
    """Before: torch grew the storage and the network imported with weights from stale process memory."""
    source = write_nvidia_pickle(tmp_path / "view.pkl", hostile_snapshot(*nets, how))
    out = tmp_path / "out.safetensors"
    with pytest.raises(CheckpointError) as info:
        import_checkpoint(source, out)
    text = str(info.value)
    assert VIEW_REFUSALS[how] in text and "view.pkl" in text and "\n" not in text
    assert not out.exists()


def test_tensor_view_inside_a_larger_storage_imports_exactly(tmp_path: Path, nets) -> None:
    """The check is exact: a view ending on the storage's last element is fine."""
    G = nets[0]
    source = write_nvidia_pickle(tmp_path / "fits.pkl", hostile_snapshot(*nets, "fits"))
    loaded = load_networks(import_checkpoint(source, tmp_path / "out.safetensors").out)
    numel = G.synthesis.b4.const.numel()
    expected = torch.arange(3.0, numel + 3).reshape(G.synthesis.b4.const.shape)
    assert torch.equal(loaded.G.synthesis.b4.const, expected)


SETTING_REFUSALS = [
    ("mapping_kwargs.num_layers", 10**7, "mapping_kwargs.num_layers=10000000 is outside StyleGAN2's sane range"),
    ("img_resolution", 4096, "img_resolution=4096 is outside StyleGAN2's sane range (expected a power of two"),
    ("img_resolution", 48, "img_resolution=48 is outside"),
    ("z_dim", 10**6, "z_dim=1000000 is outside StyleGAN2's sane range (expected an integer in 1..4096)"),
    ("w_dim", 0, "w_dim=0 is outside"),
    ("c_dim", -1, "c_dim=-1 is outside"),
    ("img_channels", 10**5, "img_channels=100000 is outside"),
    ("synthesis_kwargs.channel_max", 10**6, "synthesis_kwargs.channel_max=1000000 is outside"),
    ("synthesis_kwargs.channel_base", True, "synthesis_kwargs.channel_base=True is outside"),
    ("synthesis_kwargs.kernel_size", 10**4, "synthesis_kwargs.kernel_size=10000 is outside"),
    ("synthesis_kwargs.resample_filter", [1.0] * 100, "expected a list of 1..8 finite numbers"),
    ("synthesis_kwargs.conv_clamp", float("inf"), "synthesis_kwargs.conv_clamp=inf is outside"),
    ("mapping_kwargs.lr_multiplier", float("nan"), "mapping_kwargs.lr_multiplier=nan is outside"),
    ("synthesis_kwargs.bogus", 1, "unknown generator setting 'synthesis_kwargs.bogus'"),
]


@pytest.mark.parametrize(("setting", "value", "message"), SETTING_REFUSALS, ids=[s[0] for s in SETTING_REFUSALS])
def test_init_kwargs_out_of_range_are_refused_before_building(
    tmp_path: Path, nets, setting: str, value: Any, message: str
) -> None:
    """Before: `mapping_kwargs.num_layers=10**7` built ten million layers, memory growing without limit."""
    snapshot = nvidia_snapshot(*nets)
    *sections, key = setting.split(".")
    kwargs = snapshot["G_ema"].meta["state"]["_init_kwargs"]
    for section in sections:
        kwargs = kwargs[section]
    kwargs[key] = value
    source = write_nvidia_pickle(tmp_path / "settings.pkl", snapshot)
    with pytest.raises(CheckpointError) as info:
        import_checkpoint(source, tmp_path / "out.safetensors")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_discriminator_and_layout_settings_are_bounded_too(tmp_path: Path, nets) -> None:
    snapshot = nvidia_snapshot(*nets)
    snapshot["D"].meta["state"]["_init_kwargs"]["epilogue_kwargs"] = EasyDict(mbstd_num_channels=10**6)
    source = write_nvidia_pickle(tmp_path / "d.pkl", snapshot)
    with pytest.raises(CheckpointError, match=r"discriminator setting epilogue_kwargs.mbstd_num_channels=1000000"):
        import_checkpoint(source, tmp_path / "out.safetensors")
    path = save_networks(tmp_path / "net.safetensors", nets[0], source_format="latentedit")
    deep = {**G_KWARGS, "mapping_kwargs": {"num_layers": 10**7}}
    bad = _rewrite(path, lambda t, m: m.update({"generator": json.dumps(deep)}))
    with pytest.raises(CheckpointError, match=r"mapping_kwargs.num_layers=10000000 is outside"):
        load_networks(bad)


def record_networks_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that receives the device ("meta" or "cpu") of every network the importer constructs."""
    from latentedit.checkpoints import build

    built: list[str] = []
    network_class = build.network_class

    def spy(kind: str, architecture: str = "stylegan2") -> Any:
        def construct(**kwargs: Any) -> torch.nn.Module:
            built.append(torch.empty(0).device.type)
            return network_class(kind, architecture)(**kwargs)

        return construct

    monkeypatch.setattr(build, "network_class", spy)
    return built


def test_import_checks_tensors_against_a_meta_layout_before_allocating(
    tmp_path: Path, nets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings within range can still mean gigabytes (2048 px, 1024 channels): a file that does not
    hold those tensors is refused before the real network is built."""
    networks_built = record_networks_built(monkeypatch)
    snapshot = nvidia_snapshot(*nets)
    kwargs = snapshot["G_ema"].meta["state"]["_init_kwargs"]
    kwargs["img_resolution"] = 2048
    kwargs["synthesis_kwargs"].update(channel_base=2**20, channel_max=1024)
    source = write_nvidia_pickle(tmp_path / "big.pkl", snapshot)
    with pytest.raises(CheckpointError, match="missing tensor G_ema.synthesis.b1024"):
        import_checkpoint(source, tmp_path / "out.safetensors")
    assert networks_built == ["meta"]


def test_rosinality_layer_count_is_bounded_before_noise_is_drawn(tmp_path: Path, nets) -> None:
    """36 one-element tensors once meant const noise drawn at 4M x 4M pixels."""
    checkpoint = rosinality_checkpoint(nets[0], None)
    g_ema = {key: value for key, value in checkpoint["g_ema"].items() if not key.startswith("noises.")}
    g_ema.update({f"convs.{index}.conv.weight": torch.zeros(1) for index in range(4, 40)})
    checkpoint["g_ema"] = g_ema
    torch.save(checkpoint, tmp_path / "deep.pt")
    with pytest.raises(CheckpointError, match=r"img_resolution=4194304 is outside StyleGAN2's sane range"):
        import_checkpoint(tmp_path / "deep.pt", tmp_path / "out.safetensors")


def _op(code: bytes, *args: int | str) -> bytes:
    """One pickle opcode; ints are 1-byte or 4-byte memo indices, strs short unicode strings."""
    out = code
    for arg in args:
        if isinstance(arg, str):
            raw = arg.encode()
            out += bytes([len(raw)]) + raw
        else:
            out += bytes([arg]) if code == pickle.BINGET else struct.pack("<I", arg)
    return out


def _s(text: str) -> bytes:
    return _op(pickle.SHORT_BINUNICODE, text)


def billion_laughs(depth: int = 30, width: int = 10) -> bytes:
    """`[[[...] * width] * width] * width`, `depth` levels of one shared list: width**depth references."""
    out = [_op(pickle.PROTO) + b"\x04", pickle.EMPTY_LIST, pickle.MEMOIZE]
    for level in range(1, depth + 1):
        out += [pickle.EMPTY_LIST, pickle.MARK, _op(pickle.BINGET, level - 1) * width, pickle.APPENDS, pickle.MEMOIZE]
    return b"".join([*out, pickle.STOP])


def deep_nesting(depth: int = 100_000) -> bytes:
    """A list inside a list inside a list ..., `depth` levels."""
    return b"\x80\x04" + pickle.EMPTY_LIST * depth + pickle.APPEND * (depth - 1) + pickle.STOP


def module_cycle() -> bytes:
    """{"G_ema": G} where G's `_modules` holds G itself: the module tree contains itself."""
    record = [
        b"ctorch_utils.persistence\n_reconstruct_persistent_obj\n",
        pickle.EMPTY_DICT,
        pickle.MARK,
        _s("type") + _s("class") + _s("class_name") + _s("Generator") + _s("state"),
        pickle.EMPTY_DICT + pickle.MARK + _s("_modules") + pickle.EMPTY_DICT + pickle.MEMOIZE,  # memo 1
        pickle.SETITEMS,
        pickle.SETITEMS,
        pickle.TUPLE1 + pickle.REDUCE + pickle.MEMOIZE,  # memo 2: the record
    ]
    loop = _op(pickle.BINGET, 1) + _s("loop") + _op(pickle.BINGET, 2) + pickle.SETITEM + pickle.POP
    head = b"\x80\x04" + pickle.EMPTY_DICT + pickle.MEMOIZE + _s("G_ema")
    return head + b"".join(record) + pickle.SETITEM + loop + pickle.STOP


HOSTILE_STRUCTURES = {
    "billion laughs": (billion_laughs, "more than 1,000,000 objects when shared references are followed"),
    "deep nesting": (deep_nesting, "nests containers more than 64 deep"),
    "module cycle": (module_cycle, "reference cycle (an object, e.g. a module, that contains itself)"),
    "memo bomb": (lambda: b"\x80\x04N" + _op(pickle.LONG_BINPUT, 2**31 - 1) + b".", "memo slot 2147483647"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_STRUCTURES))
def test_hostile_pickle_structures_are_refused(tmp_path: Path, kind: str) -> None:
    """Before: the laughs and the cycle never finished, deep nesting crashed, the memo bomb took 16 GB."""
    build, message = HOSTILE_STRUCTURES[kind]
    source = tmp_path / "hostile.pkl"
    source.write_bytes(build())
    assert source.stat().st_size < 300_000
    with pytest.raises(UnsafePickleError) as info:
        import_checkpoint(source, tmp_path / "out.safetensors")
    assert message in str(info.value) and "hostile.pkl" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out.safetensors").exists()


def test_opcode_count_and_declared_lengths_are_checked_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safepickle, "MAX_OPCODES", 1000)
    many = tmp_path / "many.pkl"
    many.write_bytes(b"\x80\x04" + (pickle.NONE + pickle.POP) * 500 + pickle.NONE + pickle.STOP)
    with pytest.raises(UnsafePickleError, match="more than 1,000 pickle opcodes"):
        import_checkpoint(many, tmp_path / "out.safetensors")
    liar = tmp_path / "liar.pkl"  # claims 2**60 bytes follow
    liar.write_bytes(b"\x80\x04" + pickle.BINBYTES8 + struct.pack("<Q", 2**60) + b"x" * 64 + pickle.STOP)
    with pytest.raises(CheckpointError, match="liar.pkl: corrupt or truncated pickle"):
        import_checkpoint(liar, tmp_path / "out.safetensors")


def _official_persistent(module: torch.nn.Module, source: str, kwargs: dict[str, Any] | None = None) -> _Persistent:
    """What `persistence.persistent_class` pickles for a torch 1.x module: its whole `__dict__`."""
    children = OrderedDict((name, _official_persistent(child, source)) for name, child in module._modules.items())
    hooks = (
        "_backward_hooks",
        "_forward_hooks",
        "_forward_pre_hooks",
        "_state_dict_hooks",
        "_load_state_dict_pre_hooks",
    )
    state = {
        "training": False,
        "_parameters": OrderedDict(module._parameters),
        "_buffers": OrderedDict(module._buffers),
        "_non_persistent_buffers_set": set(),
        **{hook: OrderedDict() for hook in hooks},
        "_modules": children,
        **{name: value for name, value in vars(module).items() if isinstance(value, (int, float, str))},
        "weight_gain": np.float64(0.0625),
        "_init_args": (),
        "_init_kwargs": EasyDict(kwargs or {"in_channels": 8, "resample_filter": [1, 3, 3, 1], "conv_clamp": 256}),
    }
    return _Persistent(type(module).__name__, state, source)


def test_limits_leave_room_for_official_size_pickles(tmp_path: Path) -> None:
    """A 1024 px snapshot with G, G_ema and D in the official module layout (thin channels: the
    structure, not the weight bytes, is what the limits count) stays under 2% of every limit."""
    from latentedit.nets import Discriminator, Generator

    thin = {"channel_base": 32768, "channel_max": 8}
    g_kwargs = {**G_KWARGS, "img_resolution": 1024, "mapping_kwargs": {"num_layers": 8}, "synthesis_kwargs": thin}
    d_kwargs = {**D_KWARGS, "img_resolution": 1024, **thin}
    G, D = Generator(**g_kwargs), Discriminator(**d_kwargs)
    source = "# networks.py\n" + "pass\n" * 10_000  # embedded once, shared by every module
    snapshot = {
        "G": _official_persistent(G, source, g_kwargs),
        "D": _official_persistent(D, source, d_kwargs),
        "G_ema": _official_persistent(G, source, g_kwargs),
        "augment_pipe": None,
        "training_set_kwargs": EasyDict(path="ffhq.zip", resolution=1024, max_size=70000, xflip=True),
    }
    path = write_nvidia_pickle(tmp_path / "ffhq-layout.pkl", snapshot)
    with open(path, "rb") as handle:
        opcodes = safepickle._scan(handle)
    expanded, nesting = safepickle._check_structure(safepickle.load_restricted(path))
    assert opcodes * 50 < safepickle.MAX_OPCODES, opcodes
    assert expanded * 50 < safepickle.MAX_EXPANDED, expanded
    assert nesting * 3 < safepickle.MAX_NESTING, nesting
    assert import_checkpoint(path, tmp_path / "out.safetensors").resolution == 1024


# --- rosinality ------------------------------------------------------------------------------

_INVERSE = {
    "copy": lambda t: t,
    "drop_batch": lambda t: t[None],
    "scalar": lambda t: t.reshape(1),
    "noise": lambda t: t[None, None],
    "rgb_bias": lambda t: t.reshape(1, -1, 1, 1),
}


def _blur(gain: float) -> torch.Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = taps[:, None] * taps[None, :]
    return kernel / kernel.sum() * gain


def rosinality_state(net: torch.nn.Module, rules: list[KeyRule], kernels: dict[str, float]) -> dict[str, torch.Tensor]:
    """A rosinality-named state dict for one of our networks: the key map run backwards."""
    state = net.state_dict()
    result = {rule.source: _INVERSE[rule.transform](state[rule.target]).clone() for rule in rules}
    result.update({key: _blur(gain) for key, gain in kernels.items()})
    return result


def rosinality_checkpoint(G: torch.nn.Module, D: torch.nn.Module | None, latent_avg: bool = True) -> dict[str, Any]:
    g_kernels = {f"convs.{2 * k}.conv.blur.kernel": 4.0 for k in range(2)}
    g_kernels.update({f"to_rgbs.{k}.upsample.kernel": 4.0 for k in range(2)})
    checkpoint: dict[str, Any] = {"g_ema": rosinality_state(G, generator_rules(4, 2), g_kernels)}
    if latent_avg:
        checkpoint["latent_avg"] = G.state_dict()["mapping.w_avg"].clone()
    if D is not None:
        d_kernels = {f"convs.{j}.{layer}.0.kernel": 1.0 for j in (1, 2) for layer in ("conv2", "skip")}
        checkpoint["d"] = rosinality_state(D, discriminator_rules(4), d_kernels)
    return checkpoint


def test_rosinality_round_trip(tmp_path: Path, nets) -> None:
    G, D = nets
    checkpoint = rosinality_checkpoint(G, D)
    checkpoint["args"] = argparse.Namespace(size=16, iter=800000)
    source = tmp_path / "000100.pt"
    torch.save(checkpoint, source)
    assert detect_format(source) == "rosinality"
    report = import_checkpoint(source, tmp_path / "ros.safetensors")
    loaded = load_networks(report.out)
    assert _same_state(loaded.G, G) and _same_state(loaded.D, D)
    assert torch.equal(_images(loaded.G), _images(G))
    assert torch.equal(_logits(loaded.D), _logits(D))
    assert report.fingerprint == fingerprint(G) and report.notes == ()
    assert loaded.G.init_kwargs["mapping_kwargs"] == {"num_layers": 2, "lr_multiplier": 0.01}


def test_rosinality_without_latent_avg_or_noise_or_d(tmp_path: Path, nets) -> None:
    G = nets[0]
    checkpoint = rosinality_checkpoint(G, None, latent_avg=False)
    checkpoint["g_ema"] = {k: v for k, v in checkpoint["g_ema"].items() if not k.startswith("noises.")}
    torch.save(checkpoint, tmp_path / "g.pt")
    report = import_checkpoint(tmp_path / "g.pt", tmp_path / "g.safetensors")
    loaded = load_networks(report.out)
    assert not report.has_discriminator and len(report.notes) == 3
    z = torch.randn(10_000, G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = G.mapping(z, None)[:, 0].mean(dim=0)
    assert torch.allclose(loaded.G.state_dict()["mapping.w_avg"], expected, atol=1e-4)


def test_rosinality_checkpoint_with_code_is_refused(tmp_path: Path, nets) -> None:
    marker = tmp_path / "pwned"
    checkpoint = rosinality_checkpoint(nets[0], None)
    checkpoint["payload"] = _Evil("os.system", marker)
    torch.save(checkpoint, tmp_path / "evil.pt")
    with pytest.raises(UnsafePickleError, match="posix.system"):
        import_checkpoint(tmp_path / "evil.pt", tmp_path / "out.safetensors")
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


def test_rosinality_damaged(tmp_path: Path, nets) -> None:
    checkpoint = rosinality_checkpoint(nets[0], None)
    del checkpoint["g_ema"]["conv1.noise.weight"]
    torch.save(checkpoint, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no tensor conv1.noise.weight"):
        import_checkpoint(tmp_path / "missing.pt", tmp_path / "out.safetensors")
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="no g_ema state dict"):
        import_checkpoint(tmp_path / "other.pt", tmp_path / "out.safetensors")
    data = (tmp_path / "missing.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: corrupt or truncated"):
        import_checkpoint(tmp_path / "cut.pt", tmp_path / "out.safetensors")


# --- entry point -------------------------------------------------------------------------------


def test_import_refuses_to_overwrite_before_reading(tmp_path: Path, nets) -> None:
    out = save_networks(tmp_path / "net.safetensors", nets[0], source_format="latentedit")
    with pytest.raises(FileExistsNoForceError):
        import_checkpoint(tmp_path / "does-not-exist.pkl", out)


def test_import_own_layout_and_progress(tmp_path: Path, nets) -> None:
    first = save_networks(tmp_path / "a.safetensors", nets[0], nets[1], source_format="rosinality")
    messages: list[str] = []
    report = import_checkpoint(first, tmp_path / "b.safetensors", progress=messages.append)
    assert report.format == "latentedit" and report.fingerprint == fingerprint(first)
    assert read_metadata(report.out)["source_format"] == "latentedit"
    assert len(messages) == 2 and str(report.out) in report.summary()
    assert json.loads(json.dumps(report.as_dict()))["fingerprint"] == report.fingerprint


def test_package_import_does_not_import_torch() -> None:
    code = "import sys, latentedit.checkpoints; print('torch' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"
