"""Local style transfer (Editing in Style): catalog, labels, queries, interpolation, locality."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import latentedit
from latentedit.errors import LatentEditError
from latentedit.hookspecs import hookimpl
from latentedit.methods.localstyle import LocalStyle, LocalStyleApplyOptions
from latentedit.methods.localstyle_catalog import _ContributionSums, catalog_picture, memberships
from latentedit.methods.localstyle_kmeans import spherical_kmeans
from latentedit.methods.localstyle_labels import best_cluster_set, label_clusters, parse_label, parse_labels
from latentedit.methods.localstyle_locality import lab_squared_error, locality, save_heatmap, srgb_to_lab
from latentedit.methods.localstyle_query import interpolate_styles, sequential_query, simultaneous_query
from latentedit.plugins import get_plugins, register_plugin, unregister_plugin
from tests.helpers import one_line_error, run

torch.set_num_threads(1)


class _LocalStylePlugin:
    @hookimpl
    def register_methods(self, register):
        register(LocalStyle)


@pytest.fixture
def localstyle_registered(fake_scorers) -> Iterator[None]:
    """The method as the CLI finds it (until the lead lists it in BUILTIN_METHODS)."""
    if "localstyle" in get_plugins().methods:
        yield
        return
    register_plugin("localstyle-test", _LocalStylePlugin())
    yield
    unregister_plugin("localstyle-test")


@pytest.fixture
def catalog(cli, localstyle_registered, tiny_backend):
    """A small catalog of random:32, auto-labelled on the toy (dark/bright) segmenter."""
    result = run(
        cli,
        *("discover", "--method", "localstyle", "--backend", "random:32", "--samples", "24", "--name", "parts"),
        *("-o", "layer=b16.conv1", "-o", "k=5", "-o", "auto_label=true", "-o", "min_iou=0"),
        *("-o", "labels=blob:1+3", "--json"),
    )
    assert result.exit_code == 0, result.output
    return latentedit.load_edit("parts", backend="random:32")


def test_spherical_kmeans_recovers_separable_clusters() -> None:
    generator = torch.Generator().manual_seed(0)
    centres = torch.nn.functional.normalize(torch.randn(4, 16, generator=generator), dim=1)
    truth = torch.arange(4).repeat_interleave(300)
    # Directions near each centre, with arbitrary lengths: only the direction may matter.
    points = centres[truth] + 0.15 * torch.randn(1200, 16, generator=generator)
    points = points * torch.rand(1200, 1, generator=generator).add(0.1) * 50
    result = spherical_kmeans(points, 4, seed=1, restarts=2)
    found = torch.stack([torch.bincount(result.labels[truth == c], minlength=4) for c in range(4)])
    assert (found.max(dim=1).values == 300).all() and len(set(found.argmax(dim=1).tolist())) == 4
    matched = result.centroids[found.argmax(dim=1)]
    assert torch.allclose(matched.norm(dim=1), torch.ones(4), atol=1e-5)
    assert float((matched * centres).sum(dim=1).min()) > 0.98
    assert result.objective > 0.8  # noise of norm ~0.6 around unit centres: cosine ~0.86


def test_kmeans_refuses_more_clusters_than_points() -> None:
    with pytest.raises(LatentEditError, match="Cannot make 5 clusters from 3"):
        spherical_kmeans(torch.randn(3, 4), 5)


def test_contributions_are_energy_shares_per_cluster() -> None:
    """Eq. 1 on standardised activations: columns sum to 1, a channel alive only in cluster 0 gets ~all of it."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.zeros(6, 8, 8, dtype=torch.long)
    labels[:, :, 4:] = 1
    local = torch.randn(6, 8, 8, generator=generator) * torch.where(labels == 0, 3.0, 0.05)
    spread = torch.randn(6, 8, 8, generator=generator)
    activations = torch.stack([local, spread], dim=1) + 5.0  # an offset: standardisation must remove it
    sums = _ContributionSums()
    for part in range(0, 6, 4):  # two batches accumulate to the same matrix as one
        sums.add("x", activations[part : part + 4], memberships(labels[part : part + 4], 2, 8))
    m = sums.matrices()["x"]
    assert torch.allclose(m.sum(dim=0), torch.ones(2), atol=1e-5)
    assert float(m[0, 0]) > 0.99 and abs(float(m[0, 1]) - 0.5) < 0.1
    standardised = (activations - activations.mean(dim=(0, 2, 3), keepdim=True)) / activations.std(
        dim=(0, 2, 3), unbiased=False, keepdim=True
    )
    direct = (standardised[:, 0] ** 2 * (labels == 0)).mean()
    assert abs(float(m[0, 0]) - float(direct)) < 1e-4


def test_catalog_clusters_raw_activations_unless_asked_to_standardise(tiny_backend) -> None:
    from latentedit.methods.localstyle_catalog import build_catalog, unit_vectors
    from latentedit.methods.localstyle_kmeans import assign

    with torch.inference_mode():
        ws = tiny_backend.mapping(tiny_backend.z_for_seeds(list(range(8))))
    raw = build_catalog(tiny_backend, ws, "b16.conv1", 4, restarts=1)
    scaled = build_catalog(tiny_backend, ws, "b16.conv1", 4, restarts=1, standardize=True)
    assert torch.equal(raw.mean, torch.zeros_like(raw.mean)) and torch.equal(raw.std, torch.ones_like(raw.std))
    assert float(scaled.mean.abs().max()) > 0 and not torch.allclose(scaled.std, torch.ones_like(scaled.std))
    for catalog in (raw, scaled):  # the stored transform reproduces the clustering on the same samples
        with torch.inference_mode():
            features = tiny_backend.features(ws, ["b16.conv1"])["b16.conv1"]
        labels, _ = assign(unit_vectors(features, catalog.mean, catalog.std), catalog.centroids)
        shares = torch.bincount(labels, minlength=4).double() / labels.numel()
        assert torch.allclose(shares, torch.tensor(catalog.cluster_fraction, dtype=torch.float64), atol=1e-5)


def test_auto_layer_is_the_papers_on_big_generators_and_the_finest_layers_on_small_ones(tiny_backend) -> None:

    from latentedit.methods.localstyle_catalog import resolve_layers

    assert resolve_layers(tiny_backend, "auto") == ["b16.conv1", "b32.conv0", "b32.conv1"]  # a 32 px generator
    layers = [f"b{size}.conv{i}" for size in (8, 16, 32, 64, 128, 256) for i in (0, 1)]
    sizes = {layer: int(layer.split(".")[0][1:]) for layer in layers}
    big = SimpleNamespace(name="big", resolution=256, conv_layers=layers, conv_layer_sizes=sizes)
    assert resolve_layers(big, "auto") == ["b32.conv0"]
    assert resolve_layers(tiny_backend, " b16.conv1 + b32.conv0 ") == ["b16.conv1", "b32.conv0"]
    for bad in ("b16.conv1+b16.conv1", "+", "b16.conv1+b99.conv0"):
        with pytest.raises(LatentEditError, match="conv layer"):
            resolve_layers(tiny_backend, bad)


def test_several_layers_cluster_together_with_each_resolution_counted_once(tiny_backend) -> None:
    from latentedit.methods.localstyle_catalog import build_catalog, cluster_maps, layer_groups, unit_points
    from latentedit.methods.localstyle_kmeans import unit_rows

    features = {"b16.conv1": torch.zeros(1, 4, 16, 16), "b32.conv0": torch.zeros(1, 2, 32, 32)}
    features["b32.conv1"] = torch.zeros(1, 3, 32, 32)
    groups = layer_groups(features, ["b16.conv1", "b32.conv0", "b32.conv1"])
    assert groups == [(4, 1.0), (2, 2**-0.5), (3, 2**-0.5)]
    points = torch.randn(5, 9)
    vectors = unit_points(points, torch.zeros(9), torch.ones(9), groups)
    assert torch.allclose(vectors.norm(dim=1), torch.ones(5))  # the 16 px layer holds half of each vector's energy
    assert torch.allclose(vectors[:, :4].norm(dim=1) ** 2, torch.full((5,), 0.5))
    assert torch.allclose(unit_points(points, torch.zeros(9), torch.ones(9)), unit_rows(points))
    with torch.inference_mode():
        ws = tiny_backend.mapping(tiny_backend.z_for_seeds(list(range(8))))
    catalog = build_catalog(tiny_backend, ws, "b16.conv1+b32.conv0", 4, restarts=1)
    assert catalog.layer == "b16.conv1+b32.conv0" and catalog.centroids.shape[1] == catalog.mean.shape[0]
    edit = SimpleNamespace(name="parts", params={"layer": catalog.layer}, tensors={})
    edit.tensors.update(centroids=catalog.centroids, cluster_mean=catalog.mean, cluster_std=catalog.std)
    labels = cluster_maps(tiny_backend, edit, ws)  # the stored transform reproduces the clustering
    assert labels.shape == (8, 32, 32)
    shares = torch.bincount(labels.flatten(), minlength=4).double() / labels.numel()
    assert torch.allclose(shares, torch.tensor(catalog.cluster_fraction, dtype=torch.float64), atol=1e-5)


def test_k_defaults_to_many_clusters_for_the_segmenter_and_few_for_a_person() -> None:
    from latentedit.errors import OptionError
    from latentedit.methods.localstyle import AUTO_LABEL_K, HAND_LABEL_K, LocalStyleOptions

    assert LocalStyleOptions().clusters == HAND_LABEL_K == 12
    assert LocalStyleOptions(auto_label=True).clusters == AUTO_LABEL_K == 128
    assert LocalStyleOptions(k=7, auto_label=True).clusters == 7
    with pytest.raises(OptionError, match="at least 2 clusters"):
        LocalStyleOptions(k=1).validate()


def test_memberships_resample_to_other_resolutions_and_still_sum_to_one() -> None:
    labels = torch.randint(0, 3, (2, 8, 8), generator=torch.Generator().manual_seed(0))
    down, up = memberships(labels, 3, 4).float(), memberships(labels, 3, 16).float()
    assert torch.allclose(down.sum(dim=1), torch.ones(2, 4, 4)) and torch.allclose(up.sum(dim=1), torch.ones(2, 16, 16))
    assert torch.equal(up.argmax(dim=1)[:, ::2, ::2], labels)


def test_sequential_query_respects_the_budget_and_the_threshold() -> None:
    m = torch.tensor([0.05, 0.6, 0.15, 0.9, 0.3])
    # sorted by m: 0.9, 0.6, 0.3, 0.15, 0.05 -> out-of-region costs 0.1, 0.4, 0.7, 0.85, 0.95
    assert sequential_query(m, epsilon=0.5, rho=1 / 9).tolist() == [0, 1, 0, 1, 0]
    assert sequential_query(m, epsilon=0.49, rho=1 / 9).tolist() == [0, 0, 0, 1, 0]
    assert sequential_query(m, epsilon=10.0, rho=1 / 9).tolist() == [0, 1, 1, 1, 1]  # 0.05 <= rho/(1+rho) = 0.1
    assert sequential_query(m, epsilon=10.0, rho=0.25).tolist() == [0, 1, 0, 1, 1]  # threshold 0.2
    for epsilon in (0.3, 1.2, 2.0, 3.0):
        q = sequential_query(m, epsilon, rho=0.0)
        assert float((q * (1 - m)).sum()) <= epsilon + 1e-6


def test_simultaneous_query_is_lambda_times_m_clipped_at_one() -> None:
    m = torch.tensor([0.5, 0.1, 0.0, 0.3])
    assert torch.allclose(simultaneous_query(m, 4.0), torch.tensor([1.0, 0.4, 0.0, 1.0]))
    assert torch.allclose(simultaneous_query(m, 1.0), m)


def test_style_interpolation_with_q_zero_is_identity_and_q_one_copies_the_reference(tiny_backend) -> None:
    with torch.inference_mode():
        target = tiny_backend.styles(tiny_backend.mapping(tiny_backend.z_for_seeds([1, 2, 3])))
        reference = tiny_backend.styles(tiny_backend.mapping(tiny_backend.z_for_seeds([9])))
    zeros = [torch.zeros(s.shape[1]) for s in target]
    ones = [torch.ones(s.shape[1]) for s in target]
    assert all(torch.equal(a, b) for a, b in zip(interpolate_styles(target, reference, zeros), target, strict=True))
    copied = interpolate_styles(target, reference, ones)
    assert all(torch.allclose(a, b.expand_as(a)) for a, b in zip(copied, reference, strict=True))
    with torch.inference_mode():
        images = tiny_backend.synthesize_from_styles(copied)
        expected = tiny_backend.synthesize_from_styles(reference)
    assert torch.allclose(images, expected.expand_as(images), atol=1e-5)


def test_discover_writes_a_valid_labelled_catalog(catalog, tiny_backend) -> None:
    assert catalog.method == "localstyle" and catalog.space == "s"
    assert catalog.params["layer"] == "b16.conv1" and catalog.params["k"] == 5
    clustered_channels = tiny_backend.affine_weights()[tiny_backend.style_layers.index("b16.torgb")].shape[0]
    assert catalog.tensors["centroids"].shape == (5, clustered_channels)  # torgb reads b16.conv1's output
    for name, weight in zip(tiny_backend.style_layers, tiny_backend.affine_weights(), strict=True):
        m = catalog.tensors[f"contribution.{name}"]
        assert m.shape == (5, weight.shape[0])
        assert torch.allclose(m.sum(dim=0), torch.ones(weight.shape[0]), atol=1e-4)
    labels = catalog.params["labels"]
    assert labels["blob"] == [1, 3]
    assert {"iou_dark", "iou_bright"} <= catalog.metrics.keys()
    # the toy segmenter's parts are named by the cluster sets with the recorded IoU
    assert set(labels) == {"blob", "dark", "bright"} and all(
        0 < catalog.metrics[f"iou_{p}"] <= 1 for p in ("dark", "bright")
    )
    assert catalog.provenance["samples"] == 24


def test_apply_returns_edited_styles_and_moves_only_the_chosen_channels(catalog, tiny_backend) -> None:
    with torch.inference_mode():
        ws = tiny_backend.mapping(tiny_backend.z_for_seeds([4, 5]))
        reference = tiny_backend.mapping(tiny_backend.z_for_seeds([6]))
        target = tiny_backend.styles(ws)
        source = tiny_backend.styles(reference)
    edited = latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, reference=reference, region="blob", epsilon=3.0)
    assert [tuple(s.shape) for s in edited] == [tuple(s.shape) for s in target]
    for name, before, after, ref in zip(tiny_backend.style_layers, target, edited, source, strict=True):
        m = catalog.tensors[f"contribution.{name}"][[1, 3]].sum(dim=0)
        moved = ~torch.isclose(after, before).all(dim=0)
        expected = sequential_query(m, 3.0, LocalStyleApplyOptions().rho).bool()
        assert torch.equal(moved, expected), name
        assert torch.allclose(after[:, moved], ref[:, moved].expand(2, -1))
    again = latentedit.apply_edit(tiny_backend, edited, catalog, 1.0, reference=reference, region="1+3", epsilon=3.0)
    assert all(torch.allclose(a, b) for a, b in zip(again, edited, strict=True))  # styles in, styles out
    soft = latentedit.apply_edit(
        tiny_backend, ws, catalog, 2.0, reference=reference, region=[1, 3], mode="simultaneous"
    )
    assert not all(torch.allclose(a, b) for a, b in zip(soft, target, strict=True))


def test_apply_explains_what_is_missing(catalog, tiny_backend) -> None:
    ws = tiny_backend.mapping(tiny_backend.z_for_seeds([4]))
    with pytest.raises(LatentEditError, match="needs a reference"):
        latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, region="blob")
    with pytest.raises(LatentEditError, match="Unknown region 'nose'.*Named regions: blob, bright, dark"):
        latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, reference=ws, region="nose")
    with pytest.raises(LatentEditError, match="cluster id 7 is out of range; the catalog has 0..4"):
        latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, reference=ws, region="2+7")
    with pytest.raises(LatentEditError, match="mode 'both'"):
        latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, reference=ws, region="blob", mode="both")


def test_epsilon_is_one_budget_for_every_layer_or_one_per_style_layer(cli, catalog, tiny_backend, tmp_path) -> None:
    from latentedit.options import parse_options

    assert parse_options(LocalStyleApplyOptions, ["epsilon=5"]).epsilon == [5.0]
    assert parse_options(LocalStyleApplyOptions, ["epsilon=2, 2,5"]).epsilon == [2.0, 2.0, 5.0]
    with pytest.raises(LatentEditError, match="epsilon=-1.0: the out-of-region budget must be >= 0"):
        parse_options(LocalStyleApplyOptions, ["epsilon=5,-1"])
    layers = tiny_backend.style_layers
    budgets = [0.3] * 5 + [3.0] * (len(layers) - 5)  # a smaller budget on the first (coarse) layers
    with torch.inference_mode():
        ws = tiny_backend.mapping(tiny_backend.z_for_seeds([4, 5]))
        reference = tiny_backend.mapping(tiny_backend.z_for_seeds([6]))
        target = tiny_backend.styles(ws)
    inputs = {"reference": reference, "region": "blob"}

    def moved_channels(edited: list[torch.Tensor]) -> list[torch.Tensor]:
        return [~torch.isclose(after, before).all(dim=0) for before, after in zip(target, edited, strict=True)]

    per_layer = moved_channels(latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, epsilon=budgets, **inputs))
    for name, budget, moved in zip(layers, budgets, per_layer, strict=True):
        m = catalog.tensors[f"contribution.{name}"][[1, 3]].sum(dim=0)
        assert torch.equal(moved, sequential_query(m, budget, LocalStyleApplyOptions().rho).bool()), name
    everywhere = latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, epsilon=3.0, **inputs)
    assert sum(int(moved.sum()) for moved in per_layer) < sum(int(moved.sum()) for moved in moved_channels(everywhere))
    same = latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, epsilon=[3.0] * len(layers), **inputs)
    assert all(torch.equal(a, b) for a, b in zip(same, everywhere, strict=True))
    expected = f"epsilon has 2 values; expected 1 (every layer) or {len(layers)}, one per style layer of this catalog"
    with pytest.raises(LatentEditError, match=re.escape(expected)):
        latentedit.apply_edit(tiny_backend, ws, catalog, 1.0, epsilon=[1.0, 2.0], **inputs)
    command = ("apply", "seed:3", "--dir", "parts", "--reference", "seed:4", "--region", "blob")
    wrong = run(cli, *command, "--backend", "random:32", "-o", "epsilon=1,2", "--out", str(tmp_path / "wrong"))
    assert wrong.exit_code == 2 and f"or {len(layers)}, one per style layer" in one_line_error(wrong)
    given = ",".join(str(budget) for budget in budgets)
    right = run(cli, *command, "--backend", "random:32", "-o", f"epsilon={given}", "--out", str(tmp_path / "right"))
    assert right.exit_code == 0, right.output


def test_label_parsing() -> None:
    assert parse_labels("eyes:2+5,mouth:3") == {"eyes": [2, 5], "mouth": [3]}
    assert parse_labels("eyes:2,5,mouth=3") == {"eyes": [2, 5], "mouth": [3]}
    assert parse_label("eyes=2,5") == ("eyes", [2, 5]) and parse_label("hair=") == ("hair", [])
    with pytest.raises(LatentEditError, match="write NAME=IDS"):
        parse_label("2,5")
    with pytest.raises(LatentEditError, match="'x' is not a non-negative integer"):
        parse_labels("eyes:2+x")


def test_label_clusters_rewrites_the_file(catalog) -> None:
    path = catalog.path
    labels = label_clusters(path, {"eyes": [4, 0], "blob": []})
    assert labels["eyes"] == [0, 4] and "blob" not in labels and "dark" in labels
    reloaded = latentedit.load_edit(str(path))
    assert reloaded.params["labels"] == labels and torch.equal(
        reloaded.tensors["centroids"], catalog.tensors["centroids"]
    )
    assert label_clusters(path, {"mouth": [2]}, replace=True) == {"mouth": [2]}
    with pytest.raises(LatentEditError, match="cluster id 5 is out of range"):
        label_clusters(path, {"eyes": [5]})


def test_auto_label_grows_the_cluster_set_while_iou_improves() -> None:
    overlap = torch.tensor([0, 50, 40, 5])
    ids, iou = best_cluster_set(overlap, 100, torch.tensor([100, 50, 45, 100]))
    assert ids == [1, 2] and iou == pytest.approx(90 / 105)


def test_cielab_of_known_colours() -> None:
    colours = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]], np.uint8)
    expected = [
        (100.0, 0.0, 0.0),
        (0.0, 0.0, 0.0),
        (53.24, 80.09, 67.20),
        (87.73, -86.18, 83.18),
        (32.30, 79.19, -107.86),
        (53.59, 0.0, 0.0),
    ]
    np.testing.assert_allclose(srgb_to_lab(colours), expected, atol=0.02)
    np.testing.assert_allclose(srgb_to_lab(colours.astype(np.float32) / 255), expected, atol=0.02)
    white, black = np.full((2, 3, 3), 255, np.uint8), np.zeros((2, 3, 3), np.uint8)
    np.testing.assert_allclose(lab_squared_error(white, black), np.full((2, 3), 1e4), rtol=1e-6)


def test_heatmap_png_uses_a_dark_to_bright_ramp(tmp_path) -> None:
    errors = np.zeros((8, 8))
    errors[2:4, 2:4] = 10.0
    with Image.open(save_heatmap(errors, tmp_path / "diff.png")) as image:
        pixels = np.asarray(image)
    assert pixels.shape == (192, 192, 3)
    assert pixels[0, 0].tolist() == [0, 0, 4] and pixels[-1, -1].tolist() == [0, 0, 4]
    assert pixels[2 * 24, 2 * 24].tolist() == [252, 255, 164]


def test_catalog_picture_shows_samples_over_cluster_maps_and_named_regions(catalog, tiny_backend, tmp_path) -> None:
    path = catalog_picture(tiny_backend, catalog, tmp_path / "catalog.png", samples=3)
    with Image.open(path) as image:
        picture = np.asarray(image.convert("RGB"))
    tile = 32 * 6
    rows = [picture[2 + row * (tile + 2) : (row + 1) * (tile + 2), 2 : tile + 2] for row in range(3)]
    assert picture.shape[1] == 3 * (tile + 2) + 2 and picture.shape[0] > 3 * (tile + 2) + 2  # 3 rows and legends
    assert not np.array_equal(rows[0], rows[2])  # the catalog's named regions tint the third row
    catalog.params = {**catalog.params, "labels": {}}
    path = catalog_picture(tiny_backend, catalog, tmp_path / "unnamed.png", samples=3, force=True)
    with Image.open(path) as image:
        assert image.size[1] < picture.shape[0]  # no names: no region row, no region legend


def test_locality_curves_plot_and_zero_budget(catalog, tiny_backend, tmp_path) -> None:
    result = locality(
        tiny_backend,
        catalog,
        "dark",
        pairs=4,
        lambdas=[1.0, 20.0],
        epsilons=[0.0, 5.0],
        plot=tmp_path / "locality.png",
        heatmap=tmp_path / "mean_diff.png",
    )
    json.dumps(result)
    assert result["mask"] == "segmenter" and result["pairs_used"] >= 1
    assert [p["lambda"] for p in result["simultaneous"]] == [1.0, 20.0]
    zero = result["sequential"][0]
    assert zero["epsilon"] == 0.0 and zero["in_mse"] == 0.0 and zero["out_mse"] == 0.0
    assert result["simultaneous"][1]["in_mse"] > 0 and result["defaults"]["epsilon"] == LocalStyleApplyOptions().epsilon
    with Image.open(result["plot"]) as image:
        assert image.size == (560, 420)
    clusters = locality(tiny_backend, catalog, "blob", pairs=2, lambdas=[5.0], epsilons=[5.0])
    assert clusters["mask"] == "clusters" and clusters["clusters"] == [1, 3]


def test_cli_discover_rejects_bad_options(cli, localstyle_registered) -> None:
    result = run(cli, "discover", "--method", "localstyle", "--backend", "random:32", "-o", "k=1")
    assert result.exit_code == 2 and "k=1" in one_line_error(result)
    result = run(cli, "discover", "--method", "localstyle", "--backend", "random:32", "-o", "layer=b32.torgb")
    assert result.exit_code == 2 and "Choose one of: b4.conv1" in one_line_error(result)


def test_importing_the_method_stays_light() -> None:
    code = (
        "import sys, latentedit.methods.localstyle, latentedit.methods.localstyle_catalog, "
        "latentedit.methods.localstyle_labels, latentedit.methods.localstyle_query, "
        "latentedit.methods.localstyle_locality, latentedit.methods.localstyle_kmeans; "
        "print(sorted(m for m in ('torch', 'numpy', 'PIL') if m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


@pytest.mark.slow
def test_a_local_edit_of_one_64px_image_takes_under_a_second(localstyle_registered, tmp_path) -> None:
    from latentedit.api import DiscoverRequest, no_progress
    from latentedit.edits import Edit
    from latentedit.inversion import synthesize
    from latentedit.loaders import load_backend
    from latentedit.methods.localstyle import AUTO_LABEL_K, LocalStyleOptions

    backend = load_backend("random:64")
    options = LocalStyleOptions(k=AUTO_LABEL_K)  # the largest default catalog: three layers, 128 clusters
    edit = LocalStyle().discover(backend, DiscoverRequest("parts", samples=50), options, no_progress)
    path = edit.save(tmp_path / "parts.safetensors")
    started = time.perf_counter()
    loaded = Edit.load(path)
    with torch.inference_mode():
        ws, reference = backend.mapping(backend.z_for_seeds([1])), backend.mapping(backend.z_for_seeds([2]))
        image = synthesize(backend, latentedit.apply_edit(backend, ws, loaded, 1.0, reference=reference, region=[0, 1]))
    assert image.shape == (1, 3, 64, 64) and time.perf_counter() - started < 1.0


@pytest.mark.slow
def test_issue_bars_on_the_embedded_world(tmp_path) -> None:
    """Auto-labelled eyes/mouth/hair IoU >= 0.5; sequential more local than simultaneous; Out/In <= 0.2."""
    from latentedit.api import DiscoverRequest, no_progress
    from latentedit.errors import CheckpointError
    from latentedit.loaders import load_backend
    from latentedit.methods.localstyle import LocalStyleOptions

    try:
        backend = load_backend("embedded")
    except CheckpointError as exc:
        pytest.skip(str(exc))
    options = LocalStyleOptions(auto_label=True)
    edit = LocalStyle().discover(backend, DiscoverRequest("parts"), options, no_progress)
    assert all(edit.metrics[f"iou_{part}"] >= 0.5 for part in ("eyes", "mouth", "hair")), edit.metrics
    for part in ("eyes", "mouth", "hair"):
        result = locality(backend, edit, part, pairs=100, plot=tmp_path / f"{part}.png")
        assert result["sequential_vs_simultaneous"] is not None and result["sequential_vs_simultaneous"] < 1, result
        assert result["defaults"]["out_in"] <= 0.2, result["defaults"]
