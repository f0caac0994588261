"""FEditNet (Xia et al., AAAI 2023): an editing direction learned from a few positive images.

A learnable direction v moves sampled latents by a fixed length (Eq. 3). An attribute assessor,
the backend's pretrained discriminator backbone with a linear classifier (Eq. 5), learns to
tell the positives from edited samples, while v learns to make edited samples look positive
(Eqs. 7-9). A feature contrastive loss between the generator features of each sample before
and after the edit (Eqs. 10-11) keeps everything else in place. Per-layer weights of that loss
can be tuned by Bayesian optimisation against the backend's scorer. Defaults follow the paper
where it gives a value and the original code (THU-LYJ-Lab/FEditNet) where it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import (
    Analysis,
    LatentEditError,
    OptionError,
    VectorMethod,
    conv_layers_at,
    list_images,
    no_progress,
    option,
    options_dict,
    vector_edit,
)

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress
    from latentedit.methods.feditnet_tuning import Tuning

SCALE_POOL = 1000
"""Training latents that measure their spread (the unit of `length`)."""
ACCURACY_SAMPLES = 64
"""Edited samples the final assessor accuracy is measured on (with all positives)."""


@dataclass
class FEditNetOptions:
    """FEditNet's options. `length` (the paper's l = 5) is in units of the training latents'
    spread (their std along a random direction: 0.61 raw units on random:64), not raw W units:
    W's scale differs per generator, so l = 5 means a comparable step on every backend."""

    space: str = option("w", "w: one direction for all layers; w+: one direction per layer.")
    steps: int = option(
        600, "Training steps (the original: 30000 on a GPU; 600 took 7 min at 64 px on a busy 2-core CPU)."
    )
    batch_size: int = option(4, "Sampled latents and positives per step (original code).")
    length: float = option(
        5.0, "Edit length l of Eq. 3 while training, in units of the training latents' spread (paper: 5)."
    )
    truncation: float = option(0.7, "Truncation of the sampled training latents (original code).")
    lr_direction: float = option(2e-3, "Adam learning rate of the direction and the projection heads (paper).")
    lr_assessor: float = option(
        5e-3, "Adam learning rate of the assessor (paper: 2e-4 over 30000 steps; at 600 it stays at chance)."
    )
    lr_backbone: float = option(
        2e-4, "Adam learning rate of a trained assessor backbone (train_backbone, or reuse_discriminator=false; paper)."
    )
    betas: list[float] = option([0.5, 0.999], "Adam betas (beta1, beta2) of every optimiser (original code).")
    lambda_fc: float = option(
        0.1,
        "Global weight of the feature contrastive loss, Eq. 6 (original code's lambda_nce = 3; at 3 the "
        "direction settles where the world GAN's features barely change: see docs/feditnet.md).",
    )
    fc_layers: list[str] = option(
        [], "Generator layers of the contrastive loss; empty: the original's choice scaled to the resolution."
    )
    layer_weights: list[float] = option([], "Per-layer weights of the contrastive loss, one per fc layer; empty: 1.")
    tau: float = option(0.07, "Temperature of Eq. 10 (paper, CUT).")
    patches: int = option(256, "Locations sampled per layer (original code's num_patches).")
    head_channels: int = option(256, "Width of each projection MLP (original code's netF_nc).")
    train_backbone: bool = option(False, "Also fine-tune the discriminator backbone (original: --finetune_D_backbone).")
    reuse_discriminator: bool = option(
        True, "Build the assessor on the backend's pretrained discriminator; false: same shape, from scratch."
    )
    assessor_head: str = option(
        "final_linear",
        "The assessor's trained classifier: final_linear, D's fc and out layers on its last conv output (original "
        "code); linear, one layer on the fc output (the paper's words).",
    )
    tune_weights: bool = option(
        False, "Bayesian-optimise layer_weights first, re-scoring short runs with the backend's scorer (needs --attr)."
    )
    tune_trials: int = option(6, "Candidate weightings tried when tune_weights is on.")
    tune_steps: int = option(100, "Training steps of each tuning trial.")
    tune_samples: int = option(200, "Samples re-scored per tuning trial.")
    calibration_samples: int = option(2000, "Sampled latents that calibrate --strength (--samples overrides).")

    def validate(self) -> None:
        if self.space not in ("w", "w+"):
            raise OptionError(f"Option space={self.space!r}: expected w or w+.")
        if self.assessor_head not in ("final_linear", "linear"):
            raise OptionError(f"Option assessor_head={self.assessor_head!r}: expected final_linear or linear.")
        positive = {
            "steps": self.steps,
            "batch_size": self.batch_size,
            "length": self.length,
            "lr_direction": self.lr_direction,
            "lr_assessor": self.lr_assessor,
            "lr_backbone": self.lr_backbone,
            "tau": self.tau,
            "head_channels": self.head_channels,
            "tune_steps": self.tune_steps,
        }
        for key, value in positive.items():
            if not value > 0:
                raise OptionError(f"Option {key}={value}: expected a positive number.")
        if not 0 < self.truncation <= 1:
            raise OptionError(f"Option truncation={self.truncation}: expected a value in (0, 1].")
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise OptionError(f"Option betas={self.betas}: expected two values in [0, 1), e.g. betas=0.5,0.999.")
        if self.lambda_fc < 0 or any(weight < 0 for weight in self.layer_weights):
            raise OptionError("Options lambda_fc and layer_weights: expected values >= 0.")
        if self.patches < 2:
            raise OptionError(f"Option patches={self.patches}: need at least 2 (one positive, one negative).")
        if self.fc_layers and self.layer_weights and len(self.fc_layers) != len(self.layer_weights):
            raise OptionError(
                f"Options fc_layers and layer_weights: {len(self.fc_layers)} layers but "
                f"{len(self.layer_weights)} weights; give one weight per layer."
            )
        if self.tune_weights and self.layer_weights:
            raise OptionError("Options tune_weights and layer_weights exclude each other: tuning chooses the weights.")
        if self.tune_trials < 2 or self.tune_samples < 10 or self.calibration_samples < 2:
            raise OptionError("Options tune_trials >= 2, tune_samples >= 10 and calibration_samples >= 2 are required.")


@dataclass
class Training:
    """What one FEditNet run learned: the direction (unnormalised v) and its metrics."""

    direction: torch.Tensor
    metrics: dict[str, Any]


class FEditNet(VectorMethod):
    """Few-shot direction learning with a reused discriminator and a feature contrastive loss."""

    name: ClassVar[str] = "feditnet"
    summary: ClassVar[str] = "Few-shot: a direction trained against an assessor built on the GAN's discriminator."
    space: ClassVar[str] = "w"
    Options: ClassVar[type] = FEditNetOptions
    inputs: ClassVar[tuple[str, ...]] = ("attr", "positives", "samples")
    analyses: ClassVar[tuple[Analysis, ...]] = (
        Analysis(
            "layer_response",
            "Per-layer response r_fc of each edit (FEditNet, paper Table 3).",
            run="latentedit.methods.feditnet_analysis:layer_response_analysis",
            table="latentedit.methods.feditnet_analysis:layer_response_table",
        ),
    )

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:

        from latentedit.api import sample, sha256_file

        request.require(self.name, "positives")
        scorer = self._tuning_scorer(backend, request) if options.tune_weights else None
        positives, files = load_positives(request.positives, backend.resolution, backend.device)
        layers = fc_layers_for(backend, options.fc_layers)
        weights = layer_weights_for(layers, options.layer_weights)
        calibration = sample(backend, request.samples or options.calibration_samples, request.seed).latents(
            options.space
        )
        metrics: dict[str, Any] = {}
        offset = 0
        if options.tune_weights:
            tuning = self._tune(backend, scorer, request, options, positives, layers, calibration, progress)
            weights = tuning.best["weights"]
            metrics["tuning"] = {"trials": tuning.trials, "best": tuning.best}
            offset = options.tune_trials * options.tune_steps
        total = offset + options.steps

        def report(step: int, steps: int, **values: Any) -> None:
            progress(offset + step, total, **values)

        training = train_direction(backend, positives, options, layers, weights, request.seed, options.steps, report)
        metrics.update(training.metrics, positives=len(files))
        return vector_edit(
            method=self.name,
            name=request.name,
            space=options.space,
            direction=training.direction,
            backend=backend,
            calibration_latents=calibration,
            attribute=request.attr,
            params={**options_dict(options), "fc_layers": layers, "layer_weights": weights},
            metrics=metrics,
            provenance={
                "positives": str(request.positives),
                "sha256": {path.name: sha256_file(path) for path in files},
                "seed": request.seed,
                "calibration_samples": len(calibration),
            },
            calibration={"samples": len(calibration), "seed": request.seed},
        )

    def _tuning_scorer(self, backend: Backend, request: DiscoverRequest) -> Any:
        """The backend's scorer, checked to know the attribute that tuning re-scores."""
        from latentedit.api import check_attribute, scorer_for

        request.require(self.name, "attr")
        scorer = scorer_for(backend, fix="tune_weights re-scores edits with it; give -o layer_weights=... instead")
        check_attribute(scorer, request.attr)
        return scorer

    def _tune(
        self,
        backend: Backend,
        scorer: Any,
        request: DiscoverRequest,
        options: Any,
        positives: torch.Tensor,
        layers: list[str],
        calibration: torch.Tensor,
        progress: Progress,
    ) -> Tuning:
        """Bayesian optimisation of the layer weights; each trial is a short run, re-scored."""
        from latentedit.api import off_target, rescore
        from latentedit.methods.feditnet_tuning import tune_layer_weights

        total = options.tune_trials * options.tune_steps + options.steps
        trial = 0

        def objective(weights: list[float]) -> float:
            nonlocal trial
            start, trial = trial * options.tune_steps, trial + 1

            def report(step: int, steps: int, **values: Any) -> None:
                progress(start + step, total, trial=trial, **values)

            training = train_direction(
                backend, positives, options, layers, weights, request.seed, options.tune_steps, report, 0
            )
            edit = vector_edit(
                method=self.name,
                name=request.name,
                space=options.space,
                direction=training.direction,
                backend=backend,
                calibration_latents=calibration,
                attribute=request.attr,
            )
            cells = rescore(backend, [edit], scorer, samples=options.tune_samples, seed=request.seed + 1)["rescoring"]
            return cells[edit.name][request.attr] - off_target(cells[edit.name], request.attr)

        return tune_layer_weights(objective, len(layers), options.tune_trials, request.seed)


def load_positives(folder: Path | None, resolution: int, device: str) -> tuple[torch.Tensor, list[Path]]:
    """The images of a folder as ``[N, 3, R, R]`` in [-1, 1], and their paths."""
    import numpy as np

    from latentedit.api import from_uint8, read_input_image

    if folder is None:
        raise LatentEditError("Method 'feditnet' needs --positives DIR: a folder of images showing the attribute.")
    files = list_images(folder, "--positives")
    return from_uint8(np.stack([read_input_image(path, resolution) for path in files])).to(device), files


def fc_layers_for(backend: Backend, requested: list[str]) -> list[str]:
    """The generator conv layers of the contrastive loss.

    Default: the original's 512 px choice (its layers 4, 8, 11-14: b16.conv1, b64.conv1 and both
    convs of b256 and b512) scaled to the resolution R: b16.conv1, conv1 at R/8 (if above 8 px),
    and both convs at R/2 and R. At 64 px: b16.conv1, b32.conv0/1, b64.conv0/1. Stated by feature
    size (the last layer at 16 and R/8, the first two at R/2 and R), the rule picks StyleGAN3's
    layers by sampling rate.
    """
    conv = backend.conv_layers
    if requested:
        unknown = [name for name in requested if name not in conv]
        if unknown:
            raise LatentEditError(
                f"Option fc_layers: unknown layer(s) {', '.join(unknown)}. Available: {', '.join(conv)}."
            )
        return list(dict.fromkeys(requested))
    top = backend.resolution
    wanted = {*conv_layers_at(backend, 16)[-1:], *conv_layers_at(backend, top // 2)[:2]}
    wanted.update(conv_layers_at(backend, top)[:2])
    if top // 8 > 8:
        wanted.update(conv_layers_at(backend, top // 8)[-1:])
    return [name for name in conv if name in wanted]


def layer_weights_for(layers: list[str], weights: list[float]) -> list[float]:
    """One weight per fc layer: the given ones, or 1 for each."""
    if not weights:
        return [1.0] * len(layers)
    if len(weights) != len(layers):
        raise LatentEditError(
            f"Option layer_weights: {len(weights)} weights for {len(layers)} fc layers ({', '.join(layers)})."
        )
    return [float(weight) for weight in weights]


def latent_scale(pool: torch.Tensor) -> float:
    """The training latents' spread along a random direction: the RMS of their per-coordinate std.

    It is the unit of `length`: fixed for a run, so l·v is a step of fixed size in W as in the
    paper (l = 5 raw W units on FFHQ), yet comparable across generators whose W scales differ.
    """
    return float(pool.flatten(1).std(dim=0).square().mean().sqrt())


def edit_step(direction: torch.Tensor, scale: float, length: float) -> torch.Tensor:
    """Eq. 3's ``l·v`` with v normalised: ``l · scale · v/‖v‖``.

    As in the original code the norm is detached: gradients move v freely and only the step's
    length is fixed. A length measured along v itself (the std of the latents along v) lets
    training choose the step's size by turning v towards directions in which W varies less or
    more: on the world GAN such steps ended at 2.4 raw units with the contrastive loss and 4.1
    without it, so λ_fc changed the edit's length as well as its direction.
    """
    return length * scale * direction / direction.detach().norm()


def train_direction(
    backend: Backend,
    positives: torch.Tensor,
    options: Any,
    layers: list[str],
    weights: list[float],
    seed: int,
    steps: int,
    progress: Progress = no_progress,
    accuracy_samples: int = ACCURACY_SAMPLES,
) -> Training:
    """One FEditNet run: alternate an assessor step (Eq. 7) and a direction step (Eqs. 6, 8, 11).

    The final assessor is then measured on all positives and `accuracy_samples` edited samples (0: not).
    """
    import torch

    from latentedit.methods.feditnet_assessor import assessor_accuracy, build_assessor
    from latentedit.methods.feditnet_losses import (
        assessor_loss,
        direction_adversarial_loss,
        feature_contrastive_loss,
        projection_heads,
        sample_locations,
    )

    generator = torch.Generator().manual_seed(seed)
    device, batch = backend.device, options.batch_size
    shape = (backend.w_dim,) if options.space == "w" else (backend.num_ws, backend.w_dim)
    direction = torch.nn.functional.normalize(torch.randn(shape, generator=generator).flatten(), dim=0).view(shape)
    direction = torch.nn.Parameter(direction.to(device))
    latents = _sampler(backend, options, generator)
    pool = latents(SCALE_POOL)
    scale = latent_scale(pool[:, 0] if options.space == "w" else pool)
    with torch.no_grad():
        probe = backend.features(latents(1), layers)
    heads = projection_heads([int(probe[layer].shape[1]) for layer in layers], options.head_channels, generator)
    heads = heads.to(device)
    sizes = [int(probe[layer].shape[2] * probe[layer].shape[3]) for layer in layers]
    assessor = build_assessor(
        backend, options.reuse_discriminator, options.train_backbone, generator, options.assessor_head
    )
    betas = (float(options.betas[0]), float(options.betas[1]))
    trained = [direction, *heads.parameters()]
    direction_optimizer = torch.optim.Adam(trained, lr=options.lr_direction, betas=betas)
    assessor_optimizer = torch.optim.Adam(
        assessor.parameter_groups(options.lr_assessor, options.lr_backbone), betas=betas
    )
    history: list[dict[str, float]] = []
    for step in range(1, steps + 1):
        ws = latents(batch)
        with torch.no_grad():
            original = backend.features(ws, layers)
        images, edited = _render(backend, ws + _broadcast(edit_step(direction, scale, options.length)), layers)
        picked = positives[torch.randint(len(positives), (batch,), generator=generator).to(positives.device)]

        edited_features = None if assessor.trains_backbone else assessor.features(images)
        with torch.set_grad_enabled(assessor.trains_backbone):
            positive_features = assessor.features(picked)
        positive_logits = assessor.logits(positive_features)
        fake = assessor.features(images.detach()) if edited_features is None else edited_features.detach()
        loss_assessor = assessor_loss(positive_logits, assessor.logits(fake))
        assessor_optimizer.zero_grad(set_to_none=True)
        loss_assessor.backward()
        assessor_optimizer.step()

        if edited_features is None:
            edited_features = assessor.features(images)
        loss_adv = direction_adversarial_loss(assessor.logits(edited_features))
        locations = sample_locations(sizes, options.patches, generator)
        loss_fc, terms = feature_contrastive_loss(
            [original[layer] for layer in layers], edited, locations, options.tau, weights, heads
        )
        direction_optimizer.zero_grad(set_to_none=True)
        (loss_adv + options.lambda_fc * loss_fc).backward(inputs=trained)
        direction_optimizer.step()
        values = {
            "loss_adv": float(loss_adv.detach()),
            "loss_fc": float(loss_fc.detach()),
            "loss_assessor": float(loss_assessor.detach()),
        }
        history.append({**values, **{f"fc:{layer}": float(term) for layer, term in zip(layers, terms, strict=True)}})
        progress(step, steps, **values)

    with torch.no_grad():
        step_vector = edit_step(direction, scale, options.length)
        accuracy = {}
        if accuracy_samples:
            edited_images = backend.synthesize(latents(accuracy_samples) + _broadcast(step_vector))
            accuracy = assessor_accuracy(assessor, positives, edited_images)
    tail = history[-max(1, steps // 10) :]
    final = {key: sum(entry[key] for entry in tail) / len(tail) for key in tail[0]}
    metrics = {
        "steps": steps,
        "loss_adv": final.pop("loss_adv"),
        "loss_fc": final.pop("loss_fc"),
        "loss_assessor": final.pop("loss_assessor"),
        "loss_fc_layers": {key.removeprefix("fc:"): value for key, value in final.items()},
        "training_step_norm": float(step_vector.norm()),
        **accuracy,
    }
    return Training(direction.detach().cpu(), metrics)


def _sampler(backend: Backend, options: Any, generator: torch.Generator) -> Callable[[int], torch.Tensor]:
    """``n -> ws [n, num_ws, w_dim]``: training latents from the run's seeded stream, truncated."""
    import torch

    def draw(count: int) -> torch.Tensor:
        z = torch.randn(count, backend.z_dim, generator=generator).to(backend.device)
        with torch.no_grad():
            return backend.mapping(z, truncation=options.truncation)

    return draw


def _broadcast(step: torch.Tensor) -> torch.Tensor:
    """A W step ``[w_dim]`` or W+ step ``[num_ws, w_dim]`` shaped to add to ``[N, num_ws, w_dim]``."""
    return step.view(1, 1, -1) if step.dim() == 1 else step.unsqueeze(0)


def _render(backend: Backend, ws: torch.Tensor, layers: list[str]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Images and the `layers` features of one synthesis pass."""
    images, features = backend.synthesize_with_features(ws, layers)
    return images, [features[layer] for layer in layers]
