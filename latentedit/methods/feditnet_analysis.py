"""FEditNet's layer-wise analysis (paper Table 3): how strongly each generator layer responds to an edit.

For every conv layer, r_fc is the feature contrastive loss between the features of samples
before and after the edit, for samples near the attribute's boundary divided by that for
samples far from it along the edit. Editing changes more near the boundary, so a layer with a
large r_fc carries the attribute; the paper relaxes (or tightens) the loss weight of layers
with a large (or small) r_fc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from latentedit.api import EVALUATION_SEED, LatentEditError, Progress, no_progress

if TYPE_CHECKING:
    from latentedit.api import Backend, Edit


def layer_response(
    backend: Backend,
    edit: Edit,
    scorer: Any,
    samples: int = 2000,
    fraction: float = 0.05,
    strength: float = 3.0,
    attribute: str = "",
    patches: int = 256,
    tau: float = 0.07,
    seed: int = EVALUATION_SEED,
    batch: int = 50,
    progress: Progress = no_progress,
) -> dict[str, float]:
    """r_fc per generator conv layer, ``{layer: L_fc(near) / L_fc(far)}``.

    As the paper: `samples` latents are scored for the edit's attribute (or `attribute`); the
    top `fraction` are "far from the boundary" (paper: 10K of 400K), a random `fraction` of all
    samples stand in for "near" (the boundary itself is unknown). Each set is moved `strength`
    calibrated units along the edit. The loss uses identity projections, i.e. L2-normalised raw
    features: an edit file holds no trained projection heads (and edits of other methods never
    had any), and random heads would only add noise, so r_fc depends on the generator and the
    edit alone. The same sampled locations serve every sample and both sets.
    """
    import torch

    from latentedit.api import apply_edits, check_attribute, sample
    from latentedit.methods.feditnet_losses import feature_contrastive_loss, sample_locations

    attribute = attribute or edit.attribute
    if not attribute:
        raise LatentEditError(f"Edit {edit.name!r} records no attribute; name the attribute to rank samples by.")
    check_attribute(scorer, attribute)
    if not 0 < fraction <= 0.5 or samples * fraction < 1:
        raise LatentEditError(f"Layer response: fraction={fraction} of {samples} samples leaves no sample to compare.")
    drawn = sample(backend, samples, seed, scorer, lambda step, total, **_: progress(step, 2 * total))
    count = int(samples * fraction)
    generator = torch.Generator().manual_seed(seed)
    sets = {
        "far": torch.argsort(drawn.scores[attribute], descending=True)[:count],
        "near": torch.randperm(samples, generator=generator)[:count],
    }
    layers = list(backend.conv_layers)
    with torch.inference_mode():
        probe = backend.features(drawn.ws[:1].to(backend.device), layers)
    locations = sample_locations([int(probe[name][0, 0].numel()) for name in layers], patches, generator)
    sums = {name: torch.zeros(len(layers), dtype=torch.float64) for name in sets}
    done = 0
    for name, indices in sets.items():
        for chunk in indices.split(batch):
            z, ws = drawn.z[chunk].to(backend.device), drawn.ws[chunk].to(backend.device)
            with torch.inference_mode():
                edited = apply_edits(backend, ws, [(edit, strength)], z=z)
                before, after = backend.features(ws, layers), backend.features(edited, layers)
                _, terms = feature_contrastive_loss(
                    [before[layer] for layer in layers],
                    [after[layer] for layer in layers],
                    locations,
                    tau,
                    [1.0] * len(layers),
                )
            sums[name] += torch.stack(terms).double().cpu() * len(chunk)
            done += len(chunk)
            progress(samples + done * samples // (2 * count), 2 * samples)
    ratios = sums["near"] / sums["far"].clamp(min=1e-12)
    return {layer: float(ratio) for layer, ratio in zip(layers, ratios, strict=True)}


def layer_response_analysis(
    backend: Backend,
    edits: list[Edit],
    *,
    samples: int = 2000,
    strength: float = 3.0,
    seed: int = EVALUATION_SEED,
    progress: Progress = no_progress,
    **_: Any,
) -> dict[str, Any]:
    """`evaluate --layer-response`: r_fc per generator layer for each edit (paper Table 3)."""
    from latentedit.api import scorer_for

    scorer = scorer_for(backend)
    ratios = {
        edit.name: layer_response(
            backend, edit, scorer, samples=samples, strength=strength, seed=seed, progress=progress
        )
        for edit in edits
    }
    return {"layer_response": ratios, "samples": samples, "strength": strength}


def layer_response_table(report: dict[str, Any]) -> dict[str, Any]:
    """Layers as rows, edits as columns."""
    ratios = report["layer_response"]
    layers = list(next(iter(ratios.values())))
    return {
        "title": "r_fc: feature contrastive loss near the boundary / far from it",
        "columns": ["layer", *ratios],
        "rows": [[layer, *(f"{ratios[name][layer]:.3f}" for name in ratios)] for layer in layers],
    }
