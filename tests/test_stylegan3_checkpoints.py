"""Importing StyleGAN3 network pickles (stylegan3-t and -r, with the stylegan3 repo's StyleGAN2 D),
and the hostile-pickle defences on them.

The pickles are written here as tests/test_checkpoints.py writes StyleGAN2 ones: persistent-class
records naming the official classes, with their init kwargs, state dicts and the numpy attributes
the official modules keep; no official code is involved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from latentedit.checkpoints import fingerprint, import_checkpoint, load_networks, read_metadata, save_networks
from latentedit.errors import CheckpointError, UnsafePickleError
from tests.test_checkpoints import (
    D_KWARGS,
    VIEW_REFUSALS,
    EasyDict,
    _const_view,
    _Evil,
    _persistent,
    _perturbed,
    _same_state,
    nvidia_snapshot,
    record_networks_built,
    write_nvidia_pickle,
)

SG3_KWARGS: dict[str, Any] = {
    "z_dim": 32,
    "c_dim": 0,
    "w_dim": 32,
    "img_resolution": 16,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2},
    "channel_base": 256,
    "channel_max": 16,
    "num_layers": 4,
    "num_critical": 1,
    "magnitude_ema_beta": 0.99,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "stylegan3-t": {"conv_kernel": 3},
    "stylegan3-r": {"conv_kernel": 1, "use_radial_filters": True},
}
OFFICIAL_CLASSES = {"StyleGAN3Generator": "Generator", "StyleGAN3Mapping": "MappingNetwork"}
SG3_SOURCE = "# training/networks_stylegan3.py\nclass SynthesisInput(torch.nn.Module): ...  # filtered_lrelu\n"
SG2_REPO_SOURCE = "# training/networks_stylegan2.py (stylegan3 repo)\n# fused_modconv_default\n"


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sg3_generator(variant: str = "stylegan3-t", seed: int = 1) -> torch.nn.Module:
    from latentedit.nets import StyleGAN3Generator

    with torch.random.fork_rng():
        torch.manual_seed(0)
        G = StyleGAN3Generator(**SG3_KWARGS, **VARIANTS[variant])
    _perturbed(G, seed)
    with torch.no_grad():  # the perturbation moved the fixed buffers too: put them back
        G.synthesis.input.transform.copy_(torch.eye(3))
        for layer in G.synthesis.layer_names:
            getattr(G.synthesis, layer).magnitude_ema.abs_().add_(0.5)
    return G


@pytest.fixture(scope="module")
def discriminator() -> torch.nn.Module:
    from latentedit.nets import Discriminator

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return _perturbed(Discriminator(**D_KWARGS), 2)


def sg3_record(G: torch.nn.Module, kwargs: dict[str, Any] | None = None, source: str = SG3_SOURCE) -> Any:
    """G as `persistence` pickles an official StyleGAN3 generator."""
    return _persistent(G, G.init_kwargs if kwargs is None else kwargs, source=source, names=OFFICIAL_CLASSES)


def sg3_snapshot(G: torch.nn.Module, D: torch.nn.Module | None) -> dict[str, Any]:
    """A training snapshot as the stylegan3 repo writes it: G, G_ema, D (its networks_stylegan2)."""
    snapshot = {
        "G": sg3_record(G),
        "G_ema": sg3_record(G),
        "augment_pipe": None,
        "training_set_kwargs": EasyDict(path="ffhqu.zip", resolution=16, xflip=True),
    }
    if D is not None:
        snapshot["D"] = _persistent(D, D.init_kwargs, source=SG2_REPO_SOURCE)
    return snapshot


def _images(G: torch.nn.Module) -> torch.Tensor:
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return G.synthesis(G.mapping(z, None, truncation_psi=0.7))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_stylegan3_pickle_imports_exactly(tmp_path: Path, discriminator, variant: str) -> None:
    from latentedit.nets import StyleGAN3Generator

    G = sg3_generator(variant)
    source = write_nvidia_pickle(tmp_path / f"{variant}.pkl", sg3_snapshot(G, discriminator))
    report = import_checkpoint(source, tmp_path / "out.safetensors")
    loaded = load_networks(report.out)
    assert isinstance(loaded.G, StyleGAN3Generator)
    assert _same_state(loaded.G, G) and _same_state(loaded.D, discriminator)
    assert torch.equal(_images(loaded.G), _images(G))
    assert loaded.G.init_kwargs == G.init_kwargs
    assert (report.architecture, report.num_ws, report.resolution) == ("stylegan3", SG3_KWARGS["num_layers"] + 2, 16)
    assert report.has_discriminator and report.fingerprint == fingerprint(G) == fingerprint(report.out)
    assert read_metadata(report.out)["architecture"] == "stylegan3"
    assert "stylegan3" in report.summary()


@pytest.mark.parametrize("marker", ["source and kwargs", "kwargs only", "SynthesisInput only"])
def test_stylegan3_is_recognised_by_any_of_its_markers(tmp_path: Path, marker: str) -> None:
    """The source names its modules; its kwargs and its SynthesisInput layer are enough without it."""
    G = sg3_generator("stylegan3-t")
    kwargs = dict(G.init_kwargs)
    if marker == "SynthesisInput only":  # default settings: no StyleGAN3-only kwarg in the pickle
        kwargs = {key: value for key, value in kwargs.items() if key not in ("conv_kernel", "magnitude_ema_beta")}
    record = sg3_record(G, kwargs, source=SG3_SOURCE if marker == "source and kwargs" else "")
    report = import_checkpoint(write_nvidia_pickle(tmp_path / "g.pkl", {"G_ema": record}), tmp_path / "g.safetensors")
    assert report.architecture == "stylegan3" and not report.has_discriminator
    assert torch.equal(_images(load_networks(report.out).G), _images(G))


def test_stylegan3_checkpoint_loads_from_our_layout_with_its_architecture(tmp_path: Path, discriminator) -> None:
    G = sg3_generator()
    path = save_networks(tmp_path / "net.safetensors", G, discriminator, source_format="latentedit")
    assert type(load_networks(path).G).__name__ == "StyleGAN3Generator"
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        metadata = dict(handle.metadata())
    save_file(tensors, str(tmp_path / "alien.safetensors"), metadata={**metadata, "architecture": "stylegan9"})
    with pytest.raises(CheckpointError, match="metadata 'architecture' is 'stylegan9'; expected one of stylegan2"):
        load_networks(tmp_path / "alien.safetensors")
    save_file(tensors, str(tmp_path / "as-sg2.safetensors"), metadata={**metadata, "architecture": "stylegan2"})
    with pytest.raises(CheckpointError, match="unknown generator setting 'channel_base'; StyleGAN2 generators take"):
        load_networks(tmp_path / "as-sg2.safetensors")


# --- hostile StyleGAN3 pickles --------------------------------------------------------------------


@pytest.mark.parametrize("how", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_stylegan3_pickle_with_code_is_refused_without_side_effects(tmp_path: Path, discriminator, how: str) -> None:
    marker = tmp_path / "pwned"
    snapshot = sg3_snapshot(sg3_generator(), discriminator)
    layer = snapshot["G_ema"].meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"]["input"]
    layer.meta["state"]["bandwidth"] = _Evil(how, marker)  # where StyleGAN3 keeps numpy scalars
    out = tmp_path / "out" / "net.safetensors"
    with pytest.raises(UnsafePickleError) as info:
        import_checkpoint(write_nvidia_pickle(tmp_path / "evil.pkl", snapshot), out)
    assert {"os.system": "posix.system"}.get(how, how) in str(info.value)
    assert not marker.exists() and not out.parent.exists()


class _ObjectArray:
    """Pickles as numpy pickles an object array of `items`."""

    def __init__(self, *items: Any) -> None:
        self.items = items

    def __reduce__(self) -> tuple[Any, ...]:
        array = np.empty(len(self.items), dtype=object)
        array[:] = self.items
        return array.__reduce__()


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((print,), "it asks for builtins.print, which is not on latentedit's allow-list"),
        ((36, 36), "not plain numeric"),
    ],
)
def test_stylegan3_numpy_attribute_that_is_not_numbers_is_refused(
    tmp_path: Path, discriminator, items: tuple[Any, ...], message: str
) -> None:
    """Official StyleGAN3 layers keep their sizes as numpy arrays: only numeric ones are decoded."""
    snapshot = sg3_snapshot(sg3_generator(), discriminator)
    layer = snapshot["G_ema"].meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"]["input"]
    layer.meta["state"]["size"] = _ObjectArray(*items)
    with pytest.raises(CheckpointError) as info:
        import_checkpoint(write_nvidia_pickle(tmp_path / "objects.pkl", snapshot), tmp_path / "out.safetensors")
    assert message in str(info.value) and "objects.pkl" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out.safetensors").exists()


@pytest.mark.parametrize("how", sorted(VIEW_REFUSALS))
def test_stylegan3_tensor_view_beyond_its_storage_is_refused(tmp_path: Path, discriminator, how: str) -> None:
    G = sg3_generator()
    snapshot = sg3_snapshot(G, discriminator)
    for key in ("G", "G_ema"):
        synthesis = snapshot[key].meta["state"]["_modules"]["synthesis"]
        parameters = synthesis.meta["state"]["_modules"]["input"].meta["state"]["_parameters"]
        parameters["weight"] = _const_view(tuple(G.synthesis.input.weight.shape), how)
    out = tmp_path / "out.safetensors"
    with pytest.raises(CheckpointError) as info:
        import_checkpoint(write_nvidia_pickle(tmp_path / "view.pkl", snapshot), out)
    assert VIEW_REFUSALS[how] in str(info.value) and "\n" not in str(info.value) and not out.exists()


SG3_SETTING_REFUSALS = [
    ("num_layers", 10**6, "generator setting num_layers=1000000 is outside StyleGAN3's sane range"),
    ("filter_size", 10**5, "filter_size=100000 is outside StyleGAN3's sane range (expected an integer in 1..16)"),
    ("margin_size", -1, "margin_size=-1 is outside"),
    ("channel_max", 10**6, "channel_max=1000000 is outside"),
    ("magnitude_ema_beta", 2.0, "magnitude_ema_beta=2.0 is outside"),
    ("first_cutoff", float("nan"), "first_cutoff=nan is outside"),
    ("use_radial_filters", "yes", "use_radial_filters='yes' is outside"),
    ("mapping_kwargs.num_layers", 10**7, "mapping_kwargs.num_layers=10000000 is outside StyleGAN3's"),
    ("synthesis_kwargs", {}, "unknown generator setting 'synthesis_kwargs'; StyleGAN3 generators take"),
]


@pytest.mark.parametrize(
    ("setting", "value", "message"), SG3_SETTING_REFUSALS, ids=[s[0] for s in SG3_SETTING_REFUSALS]
)
def test_stylegan3_settings_out_of_range_are_refused_before_building(
    tmp_path: Path, setting: str, value: Any, message: str
) -> None:
    G = sg3_generator()
    kwargs = {**G.init_kwargs, "mapping_kwargs": dict(G.init_kwargs["mapping_kwargs"])}
    *section, key = setting.split(".")
    (kwargs[section[0]] if section else kwargs)[key] = value
    source = write_nvidia_pickle(tmp_path / "settings.pkl", {"G_ema": sg3_record(G, kwargs)})
    with pytest.raises(CheckpointError) as info:
        import_checkpoint(source, tmp_path / "out.safetensors")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_stylegan3_kwargs_on_a_stylegan2_state_name_the_missing_tensor(tmp_path: Path) -> None:
    """StyleGAN3 kwargs make it a StyleGAN3 pickle; tensors that do not fit are refused, not guessed."""
    from latentedit.nets import Discriminator, Generator

    G = Generator(**{key: SG3_KWARGS[key] for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")})
    snapshot = nvidia_snapshot(G, Discriminator(**D_KWARGS))
    snapshot["G_ema"].meta["state"]["_init_kwargs"] = EasyDict(
        {**{k: v for k, v in G.init_kwargs.items() if k != "synthesis_kwargs"}, "use_radial_filters": True}
    )
    with pytest.raises(CheckpointError, match="missing tensor G_ema.synthesis.L0_36_512.affine.bias"):
        import_checkpoint(write_nvidia_pickle(tmp_path / "mixed.pkl", snapshot), tmp_path / "out.safetensors")


def test_stylegan3_import_checks_tensors_on_a_meta_layout_first(tmp_path: Path, monkeypatch) -> None:
    """Settings in range can still mean gigabytes (2048 px, 2048 channels, 24 layers): a file that
    does not hold those tensors is refused before anything is allocated."""
    networks_built = record_networks_built(monkeypatch)
    G = sg3_generator()
    big = {**G.init_kwargs, "img_resolution": 2048, "channel_base": 2**20, "channel_max": 2048, "num_layers": 24}
    with pytest.raises(CheckpointError, match="missing tensor G_ema.synthesis.L0_"):
        import_checkpoint(write_nvidia_pickle(tmp_path / "big.pkl", {"G_ema": sg3_record(G, big)}), tmp_path / "o")
    assert networks_built == ["meta"]
