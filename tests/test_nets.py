"""latentedit.nets: official layout, official outputs (stored fixtures), and the editing taps.

The fixtures in tests/fixtures/nets are tiny networks made with the official StyleGAN2-ADA
code (plain tensors + JSON kwargs, no code), with that code's outputs on fixed inputs;
docs/nets.md says how they were produced.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from latentedit.nets import Discriminator, Generator
from latentedit.nets.resample import setup_filter, transposed_conv2d, upfirdn2d
from tests.net_fixtures import assert_official_layout, load_fixture, max_diff, single_thread  # noqa: F401 (autouse fixture)

TOL = 1e-4


def _load(name: str) -> tuple[torch.nn.Module, dict[str, Any], dict[str, torch.Tensor]]:
    meta, state, io = load_fixture(name)
    cls = Generator if meta["kind"] == "generator" else Discriminator
    net = cls(**meta["init_kwargs"]).eval()
    net.load_state_dict(state, strict=True)
    return net, meta, io


def _tiny_g(**synthesis_kwargs: Any) -> Generator:
    torch.manual_seed(0)
    kwargs = {"channel_base": 128, "channel_max": 16, **synthesis_kwargs}
    G = Generator(8, 0, 8, 16, 3, mapping_kwargs={"num_layers": 2}, synthesis_kwargs=kwargs).eval()
    with torch.no_grad():
        for name, tensor in G.named_parameters():
            if name.endswith("noise_strength"):
                tensor.fill_(0.3)
            elif name.endswith("bias"):
                tensor.add_(0.1 * torch.randn_like(tensor))
        G.mapping.w_avg.normal_()
    return G


GENERATORS = ["g16_skip_c4", "g16_resnet_c0"]
DISCRIMINATORS = ["d16_resnet_c4", "d16_skip_c0"]


# --- official layout and outputs ---------------------------------------------------------


@pytest.mark.parametrize("name", GENERATORS + DISCRIMINATORS)
def test_state_dict_layout_matches_official(name: str) -> None:
    meta, state, _ = load_fixture(name)
    net, _, _ = _load(name)
    assert_official_layout(net, meta, state)


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_matches_official_outputs(name: str) -> None:
    G, meta, io = _load(name)
    c = io.get("c")
    with torch.inference_mode():
        ws = G.mapping(io["z"], c, truncation_psi=meta["truncation_psi"], truncation_cutoff=meta["truncation_cutoff"])
        assert max_diff(ws, io["ws"]) <= TOL
        for mode in ("const", "none"):
            assert max_diff(G.synthesis(io["ws"], noise_mode=mode), io[f"img_{mode}"]) <= TOL
        for fused in (True, False):
            styles = G.synthesis.styles(io["ws"])
            img = G.synthesis.synthesize_from_styles(styles, noise_mode="const", fused_modconv=fused)
            assert max_diff(img, io["img_const"]) <= TOL
        single = G.synthesis(io["ws"][:1], noise_mode="const")
        assert max_diff(single, io["img_const"][:1]) <= TOL
        full = G(io["z"], c, truncation_psi=meta["truncation_psi"], truncation_cutoff=meta["truncation_cutoff"])
        assert max_diff(full, io["img_const"]) <= TOL


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_with_autograd_matches_inference(name: str) -> None:
    G, _, io = _load(name)
    ws = io["ws"].clone().requires_grad_(True)
    img = G.synthesis(ws, noise_mode="const")
    assert max_diff(img.detach(), io["img_const"]) <= TOL
    img.square().mean().backward()
    assert ws.grad is not None and bool(torch.isfinite(ws.grad).all()) and float(ws.grad.abs().max()) > 0


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_matches_official_logits(name: str) -> None:
    D, _, io = _load(name)
    with torch.inference_mode():
        assert max_diff(D(io["img"], io.get("c")), io["logits"]) <= TOL
    assert max_diff(D(io["img"], io.get("c")).detach(), io["logits"]) <= TOL


# --- init kwargs ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATORS + DISCRIMINATORS)
def test_init_kwargs_are_json_and_rebuild_the_layout(name: str) -> None:
    net, meta, _ = _load(name)
    kwargs = json.loads(json.dumps(net.init_kwargs))
    rebuilt = type(net)(**kwargs)
    rebuilt.load_state_dict(net.state_dict(), strict=True)
    for key, value in meta["init_kwargs"].items():
        assert kwargs[key] == value


def test_init_kwargs_accept_official_extras() -> None:
    G = Generator(
        8,
        0,
        8,
        16,
        1,
        mapping_kwargs={"num_layers": 3, "lr_multiplier": 0.1, "w_avg_beta": 0.9, "layer_features": 12},
        synthesis_kwargs={
            "channel_base": 64,
            "channel_max": 8,
            "architecture": "orig",
            "resample_filter": (1, 2, 1),
            "fp16_channels_last": True,
            "num_fp16_res": 2,
            "conv_clamp": 1.0,
            "use_noise": False,
            "activation": "relu",
        },
    ).eval()
    assert G.init_kwargs["synthesis_kwargs"]["resample_filter"] == [1, 2, 1]
    assert not any("noise" in key for key in G.state_dict())
    with torch.inference_mode():
        img = G(torch.randn(2, 8))
    assert img.shape == (2, 1, 16, 16) and float(img.abs().max()) <= 1.0
    with pytest.raises(TypeError):
        Generator(8, 0, 8, 16, 3, synthesis_kwargs={"not_an_option": 1})


def test_freeze_layers_turns_first_weights_into_buffers() -> None:
    D = Discriminator(0, 16, 3, channel_base=128, channel_max=16, block_kwargs={"freeze_layers": 2})
    buffers = {k for k, _ in D.named_buffers()}
    assert {"b16.fromrgb.weight", "b16.conv0.weight"} <= buffers
    assert "b16.conv1.weight" in {k for k, _ in D.named_parameters()}


# --- mapping and truncation ------------------------------------------------------------------


def test_truncation_lerps_towards_w_avg() -> None:
    G = _tiny_g()
    z = torch.randn(3, 8)
    with torch.inference_mode():
        ws = G.mapping(z)
        assert ws.shape == (3, G.num_ws, 8)
        assert max_diff(ws, ws[:, :1].expand_as(ws)) == 0
        zero = G.mapping(z, truncation_psi=0)
        assert max_diff(zero, G.mapping.w_avg.expand_as(zero)) == 0
        half = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
        assert max_diff(half[:, :2], (ws[:, :2] + G.mapping.w_avg) / 2) < 1e-6
        assert max_diff(half[:, 2:], ws[:, 2:]) == 0


def test_mapping_tracks_w_avg_only_in_training() -> None:
    G = _tiny_g()
    before = G.mapping.w_avg.clone()
    G.mapping(torch.randn(4, 8))
    assert torch.equal(G.mapping.w_avg, before)
    G.mapping.train()
    G.mapping(torch.randn(4, 8))
    assert not torch.equal(G.mapping.w_avg, before)


def test_conditioning_requires_labels() -> None:
    G, _, io = _load("g16_skip_c4")
    with pytest.raises(ValueError, match="c must have shape"):
        G.mapping(io["z"])


# --- synthesis taps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("architecture", "num_ws", "names"),
    [
        (
            "skip",
            6,
            ["b4.conv1", "b4.torgb", "b8.conv0", "b8.conv1", "b8.torgb", "b16.conv0", "b16.conv1", "b16.torgb"],
        ),
        ("resnet", 6, ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1", "b16.torgb"]),
    ],
)
def test_style_layers_and_ws_bookkeeping(architecture: str, num_ws: int, names: list[str]) -> None:
    G = _tiny_g(architecture=architecture)
    assert G.num_ws == G.synthesis.num_ws == num_ws
    assert G.synthesis.style_layer_names == names
    # blocks overlap by one w: each block's torgb reads the next block's first w.
    expected = {"skip": [0, 1, 1, 2, 3, 3, 4, 5], "resnet": [0, 1, 2, 3, 4, 5]}[architecture]
    assert G.synthesis.style_w_indices == expected
    ws = torch.randn(2, num_ws, 8)
    with torch.inference_mode():
        styles = G.synthesis.styles(ws)
        weights, biases = G.synthesis.affine_weights(), G.synthesis.affine_biases()
    assert len(styles) == len(weights) == len(biases) == len(names)
    for style, weight, bias, idx in zip(styles, weights, biases, expected, strict=True):
        assert weight.shape == (style.shape[1], 8)
        assert max_diff(style, ws[:, idx] @ weight.T + bias) < 1e-5


def test_styles_round_trip_and_edits_in_s_space() -> None:
    G = _tiny_g()
    ws = torch.randn(2, G.num_ws, 8)
    with torch.inference_mode():
        img = G.synthesis(ws)
        styles = G.synthesis.styles(ws)
        assert torch.equal(G.synthesis.synthesize_from_styles(styles), img)
        edited = list(styles)
        edited[2] = edited[2] + 1
        assert max_diff(G.synthesis.synthesize_from_styles(edited), img) > 1e-3
    with pytest.raises(ValueError, match="style tensors"):
        G.synthesis.synthesize_from_styles(styles[:-1])


def test_noise_modes() -> None:
    G = _tiny_g()
    ws = torch.randn(2, G.num_ws, 8)
    with torch.inference_mode():
        assert torch.equal(G.synthesis(ws, noise_mode="const"), G.synthesis(ws, noise_mode="const"))
        torch.manual_seed(1)
        first = G.synthesis(ws, noise_mode="random")
        torch.manual_seed(1)
        assert torch.equal(first, G.synthesis(ws, noise_mode="random"))
        assert max_diff(first, G.synthesis(ws, noise_mode="random")) > 0
        no_noise = G.synthesis(ws, noise_mode="none")
        for name, tensor in G.named_parameters():
            if name.endswith("noise_strength"):
                tensor.zero_()
        assert max_diff(G.synthesis(ws, noise_mode="const"), no_noise) < 1e-6
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="fixed")  # type: ignore[arg-type]


def test_synthesis_features() -> None:
    G = _tiny_g(architecture="resnet")
    ws = torch.randn(2, G.num_ws, 8)
    with torch.inference_mode():
        img, features = G.synthesis(ws, return_features=True)
        assert torch.equal(img, G.synthesis(ws))
        assert list(features) == ["b4.conv1", "b8.conv0", "b8.conv1", "b16.conv0", "b16.conv1"]
        assert features["b8.conv0"].shape == (2, 16, 8, 8) and features["b16.conv1"].shape == (2, 8, 16, 16)
        some = G.synthesis.features(ws, ["b8.conv1", "b4.conv1"])
        assert list(some) == ["b8.conv1", "b4.conv1"]
        assert torch.equal(some["b8.conv1"], features["b8.conv1"])
    with pytest.raises(KeyError, match="b8.torgb"):
        G.synthesis.features(ws, ["b8.torgb"])


# --- discriminator taps ----------------------------------------------------------------------


def test_discriminator_features() -> None:
    D, _, io = _load("d16_resnet_c4")
    with torch.inference_mode():
        features = D.features(io["img"], io["c"])
        assert list(features) == ["b16", "b8", "b4", "epilogue"]
        assert features["b16"].shape == (4, 16, 8, 8)
        assert features["b8"].shape == (4, 16, 4, 4)
        assert features["b4"].shape == (4, 16, 4, 4)
        assert features["epilogue"].shape == (4, 16)
        logits = D.b4.head(features["epilogue"], D.mapping(None, io["c"]))
    assert max_diff(logits, io["logits"]) <= TOL


def test_minibatch_std_needs_divisible_batch() -> None:
    D, _, io = _load("d16_skip_c0")
    with pytest.raises(ValueError, match="divisible"):
        D(torch.cat([io["img"], io["img"][:2]]))  # 6 samples, groups of 4


# --- resampling ops against a direct transcription of the definition ----------------------------


def _upfirdn2d_by_definition(x: torch.Tensor, f: torch.Tensor, up: int, down: int, pad: list[int], gain: float):
    n, c, h, w = x.shape
    upsampled = torch.zeros(n, c, h * up, w * up)
    upsampled[:, :, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    padded = F.pad(upsampled, [x0, x1, y0, y1])
    kernel = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(padded, kernel, groups=c)[:, :, ::down, ::down]


@pytest.mark.parametrize(
    ("up", "down", "pad"),
    [
        (1, 1, [1, 1, 1, 1]),
        (2, 1, [2, 1, 2, 1]),
        (1, 2, [1, 1, 1, 1]),
        (2, 1, [-1, 3, 0, 2]),
        (1, 2, [2, -1, 0, 3]),
        (2, 1, [4, 4, 0, 5]),
        (2, 2, [1, 2, 2, 1]),
    ],
)
def test_upfirdn2d_matches_its_definition(up: int, down: int, pad: list[int]) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 6)
    f = setup_filter(torch.rand(4, 3) + 0.1)
    expected = _upfirdn2d_by_definition(x, f, up, down, pad, gain=up * up)
    assert max_diff(upfirdn2d(x, f, up=up, down=down, padding=pad, gain=up * up), expected) < 1e-5


def test_setup_filter_matches_official_binomial() -> None:
    f = setup_filter([1, 3, 3, 1])
    assert f.shape == (4, 4) and math.isclose(float(f.sum()), 1.0, rel_tol=1e-6)
    assert float(f[1, 1]) == 9 / 64


@pytest.mark.parametrize(("size", "groups"), [(5, 1), (130, 1), (129, 2)])
def test_transposed_conv2d_matches_conv_transpose(size: int, groups: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 4, size, size - 1).contiguous(memory_format=torch.channels_last)
    kernel = torch.randn(6, 4 // groups, 3, 3)
    weight = kernel.reshape(groups, 6 // groups, 4 // groups, 3, 3).transpose(1, 2).reshape(4, 6 // groups, 3, 3)
    expected = F.conv_transpose2d(x, weight, stride=2, groups=groups)
    assert max_diff(transposed_conv2d(x, kernel, 2, groups), expected) < 1e-5
