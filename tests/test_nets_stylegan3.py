"""latentedit.nets StyleGAN3: official layout, official outputs (stored fixtures), taps, input transform.

The fixtures `tests/fixtures/nets/sg3*` are tiny StyleGAN3-T and -R generators made with the
official NVlabs/stylegan3 code (plain tensors + JSON kwargs, no code), with that code's outputs
on fixed inputs; docs/nets.md ("StyleGAN3") says how they were produced.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from latentedit.nets import StyleGAN3Generator, sg3_filters
from latentedit.nets.sg3_filters import design_lowpass_filter, filtered_lrelu
from latentedit.nets.stylegan3 import input_transform_matrix
from tests.net_fixtures import assert_official_layout, load_fixture, max_diff, single_thread  # noqa: F401 (autouse fixture)

TOL = 1e-4
NAMES = ["sg3t16_c3", "sg3r32"]


def _load(name: str) -> tuple[StyleGAN3Generator, dict[str, Any], dict[str, torch.Tensor]]:
    meta, state, io = load_fixture(name)
    G = StyleGAN3Generator(**meta["init_kwargs"]).eval()
    G.load_state_dict(state, strict=True)
    return G, meta, io


def _tiny(**kwargs: Any) -> StyleGAN3Generator:
    torch.manual_seed(0)
    options = {"channel_base": 256, "channel_max": 8, "num_layers": 4, "margin_size": 2, **kwargs}
    G = StyleGAN3Generator(8, 0, 8, 16, 3, **options).eval()
    with torch.no_grad():
        G.synthesis.input.affine.weight.normal_()
    return G


# --- official layout and outputs ---------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_layout_matches_official(name: str) -> None:
    meta, state, _ = load_fixture(name)
    G, _, _ = _load(name)
    assert_official_layout(G, meta, state)


@pytest.mark.parametrize("name", NAMES)
def test_generator_matches_official_outputs(name: str) -> None:
    G, meta, io = _load(name)
    c = io.get("c")
    psi, cutoff = meta["truncation_psi"], meta["truncation_cutoff"]
    with torch.inference_mode():
        assert float(io["img"].abs().max()) > 0.1  # the comparison below is not against near-zero images
        ws = G.mapping(io["z"], c, truncation_psi=psi, truncation_cutoff=cutoff)
        assert max_diff(G(io["z"], c, truncation_psi=psi, truncation_cutoff=cutoff), G.synthesis(ws)) == 0
        for mode in ("const", "random", "none"):  # no noise in StyleGAN3: every mode is the same image
            assert max_diff(G.synthesis(io["ws"], noise_mode=mode), io["img"]) <= TOL
        assert max_diff(G.synthesis(io["ws"][:1]), io["img"][:1]) <= TOL
        features = G.synthesis.features(io["ws"][:1], meta["feature_layers"])
        for layer in meta["feature_layers"]:
            assert max_diff(features[layer], io[f"feat.{layer}"]) <= TOL


@pytest.mark.parametrize("name", NAMES)
def test_input_transform_matches_official(name: str) -> None:
    G, meta, io = _load(name)
    translate, rotate = meta["transform"]["translate"], meta["transform"]["rotate_deg"]
    with torch.inference_mode():
        plain = G.synthesis(io["ws"])
        per_call = G.synthesis(io["ws"], transform=input_transform_matrix(translate, rotate))
        G.set_input_transform(translate=translate, rotate_deg=rotate)
        stored = G.synthesis(io["ws"])
    assert max_diff(stored, io["img_transformed"]) <= TOL
    assert torch.equal(per_call, stored)
    assert max_diff(stored, plain) > 0.05  # the transform moves the image


@pytest.mark.parametrize("name", NAMES)
def test_dense_convolution_and_chunked_resampling_agree(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    G, _, io = _load(name)
    monkeypatch.setattr(sg3_filters, "MATMUL_MAX_SIZE", 0)  # every axis through depthwise convolutions
    monkeypatch.setattr(sg3_filters, "CHUNK_ELEMENTS", 20_000)  # and channels in groups, as at 1024 px
    with torch.inference_mode():
        assert max_diff(G.synthesis(io["ws"]), io["img"]) <= TOL


@pytest.mark.parametrize("name", NAMES)
def test_autograd_matches_inference_and_reaches_ws_and_weights(name: str) -> None:
    G, _, io = _load(name)
    ws = io["ws"].clone().requires_grad_(True)
    img = G.synthesis(ws)
    assert max_diff(img.detach(), io["img"]) <= TOL
    img.square().mean().backward()
    assert ws.grad is not None and bool(torch.isfinite(ws.grad).all()) and float(ws.grad[:, 0].abs().max()) > 0
    first_layer = getattr(G.synthesis, G.synthesis.layer_names[0])
    assert first_layer.weight.grad is not None and float(first_layer.weight.grad.abs().max()) > 0


def test_init_kwargs_are_json_and_rebuild_the_layout() -> None:
    G, meta, _ = _load("sg3r32")
    kwargs = json.loads(json.dumps(G.init_kwargs))
    assert kwargs == meta["init_kwargs"]
    StyleGAN3Generator(**kwargs).load_state_dict(G.state_dict(), strict=True)


# --- mapping --------------------------------------------------------------------------------


def test_mapping_moves_w_avg_only_with_update_emas() -> None:
    G = _tiny()
    G.train()
    before = G.mapping.w_avg.clone()
    G.mapping(torch.randn(4, 8))
    assert torch.equal(G.mapping.w_avg, before)
    G.mapping(torch.randn(4, 8), update_emas=True)
    assert not torch.equal(G.mapping.w_avg, before)
    with torch.inference_mode():
        zero = G.mapping(torch.randn(2, 8), truncation_psi=0)
    assert max_diff(zero, G.mapping.w_avg.expand_as(zero)) == 0


def test_magnitude_ema_moves_only_with_update_emas() -> None:
    G = _tiny()
    ws = torch.randn(2, G.num_ws, 8)
    layer = getattr(G.synthesis, G.synthesis.layer_names[0])
    with torch.no_grad():
        G.synthesis(ws)
        assert float(layer.magnitude_ema) == 1.0
        G.synthesis(ws, update_emas=True)
    assert float(layer.magnitude_ema) != 1.0


# --- taps -------------------------------------------------------------------------------------


def test_style_layers_styles_and_affines() -> None:
    G = _tiny()
    S = G.synthesis
    assert S.layer_names == ["L0_20_8", "L1_20_8", "L2_20_8", "L3_16_8", "L4_16_3"]
    assert S.style_layer_names == ["input", *S.layer_names]
    assert S.style_w_indices == list(range(G.num_ws)) and G.num_ws == 6
    assert S.conv_layer_names == S.layer_names[:-1]
    ws = torch.randn(2, G.num_ws, 8)
    with torch.inference_mode():
        styles = S.styles(ws)
        weights, biases = S.affine_weights(), S.affine_biases()
    assert [s.shape[1] for s in styles] == [4, 8, 8, 8, 8, 8]
    for style, weight, bias, idx in zip(styles, weights, biases, S.style_w_indices, strict=True):
        assert max_diff(style, ws[:, idx] @ weight.T + bias) < 1e-5


def test_styles_round_trip_bit_for_bit_and_edits_in_s_space() -> None:
    G = _tiny()
    ws = torch.randn(2, G.num_ws, 8)
    with torch.inference_mode():
        img = G.synthesis(ws)
        styles = G.synthesis.styles(ws)
        assert torch.equal(G.synthesis.synthesize_from_styles(styles), img)
        edited = list(styles)
        edited[2] = edited[2] * 2 - 1
        assert max_diff(G.synthesis.synthesize_from_styles(edited), img) > 1e-3
    with pytest.raises(ValueError, match="style tensors"):
        G.synthesis.synthesize_from_styles(styles[:-1])
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="fixed")  # type: ignore[arg-type]


def test_features_are_each_layers_output() -> None:
    G = _tiny()
    ws = torch.randn(2, G.num_ws, 8)
    with torch.inference_mode():
        img, features = G.synthesis(ws, return_features=True)
        assert torch.equal(img, G.synthesis(ws))
        assert list(features) == G.synthesis.style_layer_names
        assert features["input"].shape == (2, 8, 20, 20) and features["L3_16_8"].shape == (2, 8, 16, 16)
        assert max_diff(features["L4_16_3"] * G.synthesis.output_scale, img) == 0
        some = G.synthesis.features(ws, ["L2_20_8", "input"])
        assert list(some) == ["L2_20_8", "input"]
        assert torch.equal(some["L2_20_8"], features["L2_20_8"])
    with pytest.raises(KeyError, match="L9"):
        G.synthesis.features(ws, ["L9_16_8"])


def test_batched_equals_one_by_one() -> None:
    G = _tiny(use_radial_filters=True, conv_kernel=1)
    ws = torch.randn(3, G.num_ws, 8)
    with torch.inference_mode():
        batched = G.synthesis(ws)
        single = torch.cat([G.synthesis(ws[i : i + 1]) for i in range(3)])
    assert max_diff(batched, single) < 1e-5


def test_translation_by_one_sample_shifts_the_content_right() -> None:
    """`translate` is in the input grid's units: 1 / sampling_rate moves the Fourier features one sample.

    The features shift exactly; the image (one pixel = 1 / img_resolution here) follows
    approximately, as far as an untrained network is equivariant.
    """
    G = _tiny()
    step = 1 / G.synthesis.input.sampling_rate
    assert step == 1 / G.img_resolution
    ws = G.mapping(torch.randn(1, 8), None).detach()
    with torch.inference_mode():
        plain, plain_features = G.synthesis(ws, return_features=True)
        G.set_input_transform(translate=(step, 0))
        shifted, shifted_features = G.synthesis(ws, return_features=True)
    assert max_diff(shifted_features["input"][..., 1:], plain_features["input"][..., :-1]) < 1e-5
    assert max_diff(shifted[..., 1:], plain[..., :-1]) < 0.5 * max_diff(shifted, plain)


def test_input_transform_matrix_is_the_inverse_of_gen_images_make_transform() -> None:
    matrix = input_transform_matrix(translate=(0.5, -0.25), rotate_deg=30)
    angle = math.radians(30)
    forward = torch.tensor(
        [[math.cos(angle), math.sin(angle), 0.5], [-math.sin(angle), math.cos(angle), -0.25], [0, 0, 1]]
    )
    assert max_diff(matrix @ forward, torch.eye(3)) < 1e-6
    assert torch.equal(input_transform_matrix(), torch.eye(3))


# --- filter design and filtered leaky ReLU ------------------------------------------------------


def test_lowpass_filter_design_matches_scipy() -> None:
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    import numpy as np

    ours = design_lowpass_filter(numtaps=12, cutoff=5.0, width=6.0, fs=32)
    assert ours is not None
    expected = signal.firwin(numtaps=12, cutoff=5.0, width=6.0, fs=32)
    assert max_diff(ours, torch.as_tensor(expected, dtype=torch.float32)) < 1e-7
    radial = design_lowpass_filter(numtaps=12, cutoff=5.0, width=6.0, fs=32, radial=True)
    x = (np.arange(12) - 5.5) / 32
    r = np.hypot(*np.meshgrid(x, x))
    f = special.j1(2 * 5.0 * (np.pi * r)) / (np.pi * r)
    beta = signal.kaiser_beta(signal.kaiser_atten(12, 6.0 / 16))
    f *= np.outer(np.kaiser(12, beta), np.kaiser(12, beta))
    assert radial is not None and max_diff(radial, torch.as_tensor(f / f.sum(), dtype=torch.float32)) < 1e-7
    assert design_lowpass_filter(numtaps=1, cutoff=5.0, width=6.0, fs=32) is None


def _filtered_lrelu_by_definition(x, fu, fd, b, up, down, padding, gain, slope, clamp):  # type: ignore[no-untyped-def]
    n, c, h, w = x.shape
    x = x + b.reshape(1, -1, 1, 1)
    stuffed = torch.zeros(n, c, h * up, w * up)
    stuffed[:, :, ::up, ::up] = x
    x = F.pad(stuffed, padding)
    fu2 = torch.outer(fu, fu) if fu.ndim == 1 else fu
    x = F.conv2d(x, (fu2 * up * up).flip([0, 1]).expand(c, 1, *fu2.shape), groups=c)
    x = (F.leaky_relu(x, slope) * gain).clamp(-clamp, clamp)
    fd2 = torch.outer(fd, fd) if fd.ndim == 1 else fd
    return F.conv2d(x, fd2.flip([0, 1]).expand(c, 1, *fd2.shape), groups=c)[:, :, ::down, ::down]


@pytest.mark.parametrize("dense_max", [0, 1000])
@pytest.mark.parametrize(
    ("up", "down", "padding", "radial"),
    [
        (2, 2, [9, 8, 9, 8], False),
        (4, 2, [13, 12, 13, 11], False),
        (2, 2, [-1, 3, 2, 0], True),
        (1, 2, [5, 5, 5, 5], False),
    ],
)
def test_filtered_lrelu_matches_its_definition(
    up: int, down: int, padding: list[int], radial: bool, dense_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sg3_filters, "MATMUL_MAX_SIZE", dense_max)
    torch.manual_seed(0)
    x, b = torch.randn(2, 3, 15, 13) * 4, torch.randn(3)
    fu = torch.rand(6 * up) + 0.1  # asymmetric taps: flips matter
    fd = torch.rand(12, 12) + 0.1 if radial else torch.rand(12) + 0.1
    fu, fd = fu / fu.sum(), fd / fd.sum()  # unit DC gain, as designed filters
    args = (fu, fd, b, up, down, padding, math.sqrt(2), 0.2, 4.0)
    expected = _filtered_lrelu_by_definition(x, *args)
    with torch.inference_mode():
        assert max_diff(filtered_lrelu(x.clone(), *args), expected) < 1e-4
    assert max_diff(filtered_lrelu(x, *args), expected) < 1e-4
