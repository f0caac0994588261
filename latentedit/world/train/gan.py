"""Recipe (a): the world's StyleGAN2, trained on renderer faces drawn on the fly.

StyleGAN2-ADA's recipe at small scale: non-saturating logistic loss, lazy R1 on reals every
`r1_interval` steps, style mixing, an EMA generator with ramp-up and Adam(β=(0, 0.99)). R1 γ=0.5
matters: γ=0.05 collapsed modes at 64 px in the planning prototype.

Two StyleGAN2 settings are options, because a short CPU run needs them more than a long one:
the lazy path-length regulariser (`pl_weight`, 2 in the paper), which makes equal steps in W
change the image equally; and `mapping_lr_scale`. StyleGAN's mapping learns at 0.01 of the
synthesis rate, which over a paper-length run (25,000 kimg) still moves it; over the world
GAN's few hundred kimg it barely moved (0.3% between 400 and 680 kimg, the synthesis 27%). W
stayed close to a random warp of Z, a likely reason why smile or bangs are almost not linear
in it. At 32 px the mapping rate is what helps (`mapping_lr_scale=100`; docs/world.md,
"What makes the world GAN's W linear"). A third option, `hessian_weight`, is not StyleGAN2's: the Hessian penalty
(`hessian.py`), which pushes the synthesis network to let each coordinate of W act on the
image independently of the others. The fourth, scorer guidance (`guidance.py`), is not a GAN
regulariser at all: a frozen attribute scorer pulls each attribute toward a linear function of W
along directions orthogonal to the other attributes', and its statistics and correlations
toward the renderer's (`guide_linear_weight`, `guide_orthogonal_weight`,
`guide_statistics_weight`, `guide_correlation_weight`).

bf16 autocast is off by default: it halved step time on CPUs with native bf16, but these
machines (AVX2 only) emulate it and run ~10x slower.

The same code trains on a GPU (``device="cuda"``); there the renderer, not the networks, is
the bottleneck, so `render_workers` processes draw the real faces ahead of the training loop.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latentedit.progress import Progress, no_progress
from latentedit.world.scorers import scorer_input
from latentedit.world.seeds import TRAIN_SEED_RANGE
from latentedit.world.train.config import PATH, write_config
from latentedit.world.train.guidance import (
    STATISTICS_TEMPERATURE,
    ScorerGuide,
    load_guide_scorer,
    renderer_seeds,
    scorer_fingerprint,
)
from latentedit.world.train.state import check_recipe_sizes, load_state, save_state


@dataclass
class GanConfig:
    resolution: int = 64
    z_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 4
    channel_base: int = 1024
    channel_max: int = 128
    batch: int = 32
    lr: float = 0.0025
    r1_gamma: float = 0.5
    r1_interval: int = 16
    style_mixing: float = 0.5
    ema_kimg: float = 10.0
    ema_rampup: float = 0.05
    mbstd_group: int = 4
    pl_weight: float = 0.0  # path-length regulariser (StyleGAN2: 2); 0 switches it off
    pl_interval: int = 4
    pl_decay: float = 0.01
    pl_batch_shrink: int = 2
    mapping_lr_scale: float = 1.0  # on top of the mapping's lr multiplier 0.01; 10 trains it as 0.1 would
    hessian_weight: float = 0.0  # Hessian penalty in W (Peebles et al. 2020); 0 switches it off
    hessian_interval: int = 4
    hessian_epsilon: float = 0.1
    guide_linear_weight: float = 0.0  # scorer guidance (guidance.py): attributes linear in W; 0 = off
    guide_statistics_weight: float = 0.0  # ... and attribute means/stds as rendered; 0 = off
    guide_orthogonal_weight: float = 0.0  # ... and attributes along orthogonal directions of W
    guide_correlation_weight: float = 0.0  # ... and correlations between attributes as rendered
    guide_side_weight: float = 0.0  # ... and binary attributes on the read-out's side even where the scorer is sure
    guide_edit_weight: float = 0.0  # ... and edits along W changing scores as the read-out predicts
    guide_edit_strength: float = 3.0  # edits reach this many standard deviations along a direction
    guide_edit_random: float = 0.25  # fraction of edit moves along random directions, not attributes'
    guide_statistics_temperature: float = 4.0  # of probabilities in statistics/correlations (1: plain)
    guide_interval: int = 4
    guide_batch: int = 32
    guide_lr: float = 0.003  # the linear read-out's Adam rate
    guide_renders: int = 1024  # renders the renderer's score statistics are measured on
    # a world_scorer.safetensors, in config.json relative to its folder; empty: the shipped scorer (prefer another seed)
    guide_scorer: str = field(default="", metadata=PATH)
    bf16: bool = False
    seed: int = 0
    quality_samples: int = 500  # per snapshot, scored against renders (0: skip)

    def validate(self) -> None:
        from latentedit.errors import OptionError

        sizes = ("batch", "r1_interval", "mbstd_group", "pl_interval", "pl_batch_shrink", "hessian_interval")
        sizes += ("guide_interval", "guide_batch", "guide_renders")
        check_recipe_sizes(self, sizes, width=None)
        if self.mapping_lr_scale <= 0:
            raise OptionError(f"mapping_lr_scale must be > 0 (got {self.mapping_lr_scale}).")
        if self.pl_weight < 0 or not 0 < self.pl_decay <= 1:
            raise OptionError(f"pl_weight must be >= 0 and pl_decay in (0, 1] (got {self.pl_weight}, {self.pl_decay}).")
        if self.hessian_weight < 0 or self.hessian_epsilon <= 0:
            raise OptionError(
                "hessian_weight must be >= 0 and hessian_epsilon > 0 "
                f"(got {self.hessian_weight}, {self.hessian_epsilon})."
            )
        weights = (self.guide_orthogonal_weight, *self.generator_guide_weights)
        if self.guide_statistics_temperature <= 0:
            raise OptionError(f"guide_statistics_temperature must be > 0 (got {self.guide_statistics_temperature}).")
        if not 0 <= self.guide_edit_random <= 1 or self.guide_edit_strength < 0:
            raise OptionError(
                "guide_edit_random must be in [0, 1] and guide_edit_strength >= 0 "
                f"(got {self.guide_edit_random}, {self.guide_edit_strength})."
            )
        if min(weights) < 0 or self.guide_lr <= 0:
            raise OptionError(f"guide_*_weight must be >= 0 and guide_lr > 0 (got {weights}, {self.guide_lr}).")
        if self.guided and self.guide_renders < 2:
            raise OptionError(f"guide_renders must be at least 2 (got {self.guide_renders}).")
        if self.batch // self.pl_batch_shrink < 1:
            raise OptionError(f"pl_batch_shrink={self.pl_batch_shrink} leaves no samples of batch={self.batch}.")
        if self.batch % self.mbstd_group:
            raise OptionError(f"batch={self.batch} must be a multiple of mbstd_group={self.mbstd_group}.")
        if self.quality_samples and self.quality_samples < 20:
            raise OptionError(f"quality_samples must be 0 (off) or at least 20 (got {self.quality_samples}).")

    @property
    def generator_guide_weights(self) -> tuple[float, ...]:
        """Weights of the guidance losses that reach the generator (orthogonality shapes only
        the read-out, so alone it guides nothing)."""
        return (
            self.guide_linear_weight,
            self.guide_statistics_weight,
            self.guide_correlation_weight,
            self.guide_edit_weight,
            self.guide_side_weight,
        )

    @property
    def guided(self) -> bool:
        """Whether scorer guidance is on."""
        return max(self.generator_guide_weights) > 0

    @property
    def regulariser_batch(self) -> int:
        """Samples per lazy generator regulariser step (path length, Hessian), as StyleGAN2 shrinks it."""
        return max(self.batch // self.pl_batch_shrink, 1)

    def generator_kwargs(self) -> dict[str, Any]:
        return {
            "z_dim": self.z_dim,
            "c_dim": 0,
            "w_dim": self.w_dim,
            "img_resolution": self.resolution,
            "img_channels": 3,
            "mapping_kwargs": {"num_layers": self.mapping_layers},
            "synthesis_kwargs": {"channel_base": self.channel_base, "channel_max": self.channel_max},
        }

    def discriminator_kwargs(self) -> dict[str, Any]:
        return {
            "c_dim": 0,
            "img_resolution": self.resolution,
            "img_channels": 3,
            "channel_base": self.channel_base,
            "channel_max": self.channel_max,
            "epilogue_kwargs": {"mbstd_group_size": self.mbstd_group},
        }


def _render_images(seeds: list[int], resolution: int) -> np.ndarray:
    """Uint8 faces for `seeds` (module level, so worker processes can run it)."""
    from latentedit.world.render import render_batch

    return render_batch(seeds, size=resolution)[0]


class RealFaces:
    """Batches of real faces, rendered in line or, with `workers`, ahead of time in processes.

    Seeds always come from the trainer's random stream in order, so a run sees the same faces
    with any number of workers. A checkpoint stores the stream after the batches rendered ahead,
    so those few batches are skipped after a resume (which faces, not their statistics, change).
    """

    def __init__(self, rng: np.random.Generator, batch: int, resolution: int, workers: int = 0) -> None:
        self.rng, self.batch, self.resolution = rng, batch, resolution
        self.pending: list[Any] = []
        self.pool = None
        if workers > 0:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the trainer may already hold CUDA state, which a fork must not copy
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            self.depth = 2 * workers

    def _seeds(self) -> list[int]:
        return self.rng.integers(0, TRAIN_SEED_RANGE, size=self.batch).tolist()

    def next(self) -> torch.Tensor:
        """The next batch of training faces as [-1, 1] NCHW floats."""
        from latentedit.images import from_uint8

        if self.pool is None:
            return from_uint8(_render_images(self._seeds(), self.resolution))
        while len(self.pending) < self.depth:
            self.pending.append(self.pool.submit(_render_images, self._seeds(), self.resolution))
        return from_uint8(self.pending.pop(0).result())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool, self.pending = None, []


class GanTrainer:
    """Holds the networks and optimisers; `run` trains to a kimg budget with checkpoints."""

    def __init__(self, config: GanConfig, run_dir: Path, device: str = "cpu", render_workers: int = 0) -> None:
        from latentedit.nets import Discriminator, Generator

        self.config = config
        self.run_dir = run_dir
        self.device = torch.device(device)
        torch.manual_seed(config.seed)
        self.G = Generator(**config.generator_kwargs()).train().to(self.device)
        self.D = Discriminator(**config.discriminator_kwargs()).train().to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        # two groups, synthesis then mapping (the order of G.parameters(), so older one-group
        # checkpoints resume), so the mapping's learning rate can be scaled on its own
        synthesis = [p for name, p in self.G.named_parameters() if not name.startswith("mapping.")]
        self.opt_G = torch.optim.Adam(
            [{"params": synthesis}, {"params": list(self.G.mapping.parameters())}], betas=(0.0, 0.99), eps=1e-8
        )
        self.opt_D = torch.optim.Adam(self.D.parameters(), eps=1e-8)
        self._set_hyperparameters()
        self.nimg = 0
        self.step = 0
        self.pl_mean = 0.0  # running mean path length, the regulariser's target
        self.rng = np.random.default_rng(config.seed)
        self.guide: ScorerGuide | None = None
        if config.guided:
            self.guide = ScorerGuide(config.w_dim, config.guide_statistics_temperature).to(self.device)
            self.guide_scorer = load_guide_scorer(config.guide_scorer, self.device)
            self.opt_guide = torch.optim.Adam(self.guide.parameters(), lr=config.guide_lr, betas=(0.9, 0.99))
        self.reals = RealFaces(self.rng, config.batch, config.resolution, render_workers)
        self.G.to(memory_format=torch.channels_last)
        self.D.to(memory_format=torch.channels_last)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.safetensors"

    def _modules(self) -> dict[str, torch.nn.Module]:
        modules = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        return modules if self.guide is None else {**modules, "guide": self.guide}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"G": self.opt_G, "D": self.opt_D}
        return optimizers if self.guide is None else {**optimizers, "guide": self.opt_guide}

    def save(self) -> None:
        counters = {"nimg": self.nimg, "step": self.step, "pl_mean": self.pl_mean, "config": asdict(self.config)}
        counters["rng"] = self.rng.bit_generator.state
        counters["torch_rng"] = torch.get_rng_state().tolist()
        if self.device.type == "cuda":
            counters["cuda_rng"] = torch.cuda.get_rng_state(self.device).tolist()
        if self.guide is not None:
            counters["guide_scorer"] = scorer_fingerprint(self.guide_scorer)
            counters["guide_statistics_temperature"] = self.guide.temperature
        save_state(self.checkpoint_path, self._modules(), self._optimizers(), counters)

    def resume(self) -> None:
        # guidance may be switched on for a run that had none: its read-out then starts fresh
        counters = load_state(self.checkpoint_path, self._modules(), self._optimizers(), optional=("guide",))
        self.nimg, self.step = int(counters["nimg"]), int(counters["step"])
        self.pl_mean = float(counters.get("pl_mean", 0.0))  # checkpoints from before the option: none yet
        self.rng.bit_generator.state = counters["rng"]
        torch.set_rng_state(torch.tensor(counters["torch_rng"], dtype=torch.uint8))
        if self.device.type == "cuda" and "cuda_rng" in counters:
            torch.cuda.set_rng_state(torch.tensor(counters["cuda_rng"], dtype=torch.uint8), self.device)
        self._set_hyperparameters()  # the checkpoint holds the old ones; settings given now win
        if self.guide is not None and (
            counters.get("guide_scorer") != scorer_fingerprint(self.guide_scorer)
            or counters.get("guide_statistics_temperature", STATISTICS_TEMPERATURE) != self.guide.temperature
        ):
            self.guide.ready.fill_(False)  # another scorer or temperature: measure the renderer through it

    def start_from(self, path: Path) -> None:
        """Start a new run from a generator file with its discriminator (the shipped
        world_gan.safetensors, a snapshot): G and its EMA copy from its generator, D from its
        discriminator. Such a file holds no optimiser moments, counters or guide read-out:
        those start fresh, and kimg counts from 0."""
        from latentedit.checkpoints.layout import load_networks
        from latentedit.errors import CheckpointError

        loaded = load_networks(path)
        if loaded.D is None:
            raise CheckpointError(f"{path} has no discriminator; a GAN run needs both networks to continue.")
        for name, module, state in (("G", self.G, loaded.G), ("D", self.D, loaded.D)):
            if module.init_kwargs != state.init_kwargs:
                raise CheckpointError(
                    f"{path}: its {name} is built with {state.init_kwargs}, these settings build {module.init_kwargs}; "
                    "start with the settings it was trained with (e.g. --config training/world-gan-guided/config.json)."
                )
            module.load_state_dict(state.state_dict())
        self.G_ema.load_state_dict(loaded.G.state_dict())

    def _set_hyperparameters(self) -> None:
        """Learning rates and betas from the config, scaled for lazy regularisation as StyleGAN2
        does (D's always, for R1; G's when the path-length regulariser is on)."""
        g_ratio = self.config.pl_interval / (self.config.pl_interval + 1) if self.config.pl_weight > 0 else 1.0
        for group, scale in zip(self.opt_G.param_groups, (1.0, self.config.mapping_lr_scale), strict=True):
            group["lr"], group["betas"] = self.config.lr * g_ratio * scale, (0.0, 0.99**g_ratio)
        ratio = self.config.r1_interval / (self.config.r1_interval + 1)
        for group in self.opt_D.param_groups:
            group["lr"], group["betas"] = self.config.lr * ratio, (0.0, 0.99**ratio)

    def _autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.bf16)

    def _mixed_ws(self, batch: int) -> torch.Tensor:
        """Latents with style mixing: from a random cutoff, layers take a second latent's w."""
        z = torch.randn(batch, self.config.z_dim, device=self.device)
        ws = self.G.mapping(z, None)
        if self.config.style_mixing > 0 and torch.rand(()) < self.config.style_mixing:
            cutoff = int(torch.randint(1, ws.shape[1], ()))
            mixed = self.G.mapping(torch.randn_like(z), None, skip_w_avg_update=True)
            ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return ws

    def _generate(self, batch: int) -> torch.Tensor:
        return self.G.synthesis(self._mixed_ws(batch), noise_mode="random")

    def path_length_step(self) -> float:
        """StyleGAN2's Gpl: pull the Jacobian norm ‖Jᵀy‖ (y random image-space noise) toward its
        running mean, so equal steps in W change the image equally. Returns the mean length."""
        config = self.config
        self.G.requires_grad_(True)
        ws = self._mixed_ws(config.regulariser_batch)  # not detached: mapping learns too
        with self._autocast():
            images = self.G.synthesis(ws, noise_mode="random")
        noise = torch.randn_like(images) / np.sqrt(images.shape[2] * images.shape[3])
        (grads,) = torch.autograd.grad((images.float() * noise).sum(), ws, create_graph=True)
        lengths = grads.float().square().sum(2).mean(1).sqrt()
        measured = float(lengths.detach().mean())
        # StyleGAN2 starts the mean at 0, harmless from scratch; a run that switches the
        # regulariser on late would shrink its Jacobian toward 0 first, so start from the measurement.
        self.pl_mean = measured if self.pl_mean == 0 else self.pl_mean + config.pl_decay * (measured - self.pl_mean)
        penalty = (lengths - self.pl_mean).square().mean()
        self.opt_G.zero_grad(set_to_none=True)
        (penalty * config.pl_weight * config.pl_interval).backward()
        self.opt_G.step()
        return measured

    def hessian_step(self) -> float:
        """The Hessian penalty of the synthesis network in W (see `hessian.py`): what a step along
        one coordinate of W does should not depend on the others. Lazy like Gpl, on as many
        samples (Adam's settings are not rescaled for it). Returns the penalty."""
        from latentedit.world.train.hessian import hessian_penalty

        config = self.config
        self.G.requires_grad_(True)
        z = torch.randn(config.regulariser_batch, config.z_dim, device=self.device)
        with torch.no_grad():
            w = self.G.mapping(z, None, skip_w_avg_update=True)[:, 0]

        def synthesize(codes: torch.Tensor) -> torch.Tensor:
            with self._autocast():
                return self.G.synthesis(codes[:, None].expand(-1, self.G.num_ws, -1), noise_mode="const").float()

        penalty = hessian_penalty(synthesize, w, epsilon=config.hessian_epsilon)
        self.opt_G.zero_grad(set_to_none=True)
        (penalty * config.hessian_weight * config.hessian_interval).backward()
        self.opt_G.step()
        return float(penalty.detach())

    def _prepare_guide(self) -> None:
        """Measure the renderer's score statistics and fit the read-out to the generator as it is."""
        assert self.guide is not None
        config = self.config
        with torch.no_grad():
            self.guide.measure_renderer(
                self.guide_scorer, renderer_seeds(config.seed, config.guide_renders), config.resolution
            )
            chunks = [self._scored_samples(128) for _ in range(0, config.guide_renders, 128)]
        raw = {name: torch.cat([chunk[1][name] for chunk in chunks]) for name in chunks[0][1]}
        balance = config.guide_orthogonal_weight / max(config.guide_linear_weight, 1e-8)
        self.guide.fit_readout(torch.cat([chunk[0] for chunk in chunks]), raw, orthogonal_weight=balance)

    def _scored_samples(self, count: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Unmixed samples (one w per image, [N, w_dim]) and the guide scorer's raw outputs."""
        z = torch.randn(count, self.config.z_dim, device=self.device)
        w = self.G.mapping(z, None, skip_w_avg_update=True)[:, 0]
        return w, self._scored_codes(w)

    def _scored_codes(self, w: torch.Tensor) -> dict[str, torch.Tensor]:
        """The guide scorer's raw outputs for the images of codes `w` [N, w_dim] (every layer alike)."""
        with self._autocast():
            images = self.G.synthesis(w[:, None].expand(-1, self.G.num_ws, -1), noise_mode="random")
        return self.guide_scorer(scorer_input(images.float()))

    def guide_step(self) -> dict[str, float]:
        """Scorer guidance (`guidance.py`) on unmixed samples, so each image has one w. Lazy like
        Gpl; the read-out learns in the same step. With edit consistency on, half as many samples
        again are moved as edits move them and scored too. Returns its losses."""
        assert self.guide is not None
        config = self.config
        if not bool(self.guide.ready):
            self._prepare_guide()
        self.G.requires_grad_(True)
        w, raw = self._scored_samples(config.guide_batch)
        # name: (weight, loss); the optional losses only when switched on
        terms = {
            "statistics": (config.guide_statistics_weight, self.guide.statistics_loss(raw)),
            "correlation": (config.guide_correlation_weight, self.guide.correlation_loss(raw)),
            # acts on the read-out; G follows through `linear`
            "orthogonal": (config.guide_orthogonal_weight, self.guide.orthogonality_loss()),
        }
        if config.guide_edit_weight > 0:
            count = max(1, config.guide_batch // 2)
            moved = self.guide.edited_codes(w[:count], config.guide_edit_strength, config.guide_edit_random)
            raw_moved = self._scored_codes(moved)
            edit = self.guide.edit_consistency_loss(
                w[:count], {name: value[:count] for name, value in raw.items()}, moved, raw_moved
            )
            terms["edit"] = (config.guide_edit_weight, edit)
            # the read-out should hold where edits go, not only where samples are
            w = torch.cat([w, moved])
            raw = {name: torch.cat([value, raw_moved[name]]) for name, value in raw.items()}
        terms["linear"] = (config.guide_linear_weight, self.guide.linearity_loss(w, raw))
        if config.guide_side_weight > 0:
            terms["side"] = (config.guide_side_weight, self.guide.side_loss(w, raw))
        loss = sum(weight * value for weight, value in terms.values())
        self.opt_G.zero_grad(set_to_none=True)
        self.opt_guide.zero_grad(set_to_none=True)
        (loss * config.guide_interval).backward()
        self.opt_G.step()
        self.opt_guide.step()
        return {f"guide_{name}": float(value.detach()) for name, (_, value) in terms.items()}

    def train_step(self) -> dict[str, float]:
        """One Gmain + Dmain step, plus Gpl every `pl_interval` steps (when on) and Dreg (lazy R1)
        every `r1_interval` steps."""
        config = self.config
        metrics: dict[str, float] = {}
        self.G.requires_grad_(True)
        self.D.requires_grad_(False)
        with self._autocast():
            loss_G = F.softplus(-self.D(self._generate(config.batch), None)).mean()
        self.opt_G.zero_grad(set_to_none=True)
        loss_G.backward()
        self.opt_G.step()
        metrics["loss_G"] = float(loss_G.detach())
        if config.pl_weight > 0 and self.step % config.pl_interval == 0:
            metrics["path_length"] = self.path_length_step()
        if config.hessian_weight > 0 and self.step % config.hessian_interval == 0:
            metrics["hessian"] = self.hessian_step()
        if self.guide is not None and self.step % config.guide_interval == 0:
            metrics.update(self.guide_step())

        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        reals = self.reals.next().to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), self._autocast():
            fakes = self._generate(config.batch)
        with self._autocast():
            loss_D = (F.softplus(self.D(fakes.float(), None)) + F.softplus(-self.D(reals, None))).mean()
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        self.opt_D.step()
        metrics["loss_D"] = float(loss_D.detach())

        if self.step % config.r1_interval == 0:
            reals = reals.detach().requires_grad_(True)
            with self._autocast():
                logits = self.D(reals, None)
            (grad,) = torch.autograd.grad(logits.float().sum(), reals, create_graph=True)
            penalty = grad.float().square().sum(dim=[1, 2, 3]).mean()
            loss_r1 = penalty * (config.r1_gamma / 2) * config.r1_interval
            self.opt_D.zero_grad(set_to_none=True)
            loss_r1.backward()
            self.opt_D.step()
            metrics["r1"] = float(penalty.detach())

        self._update_ema()
        self.nimg += config.batch
        self.step += 1
        return metrics

    @torch.no_grad()
    def _update_ema(self) -> None:
        ema_nimg = self.config.ema_kimg * 1000
        if self.config.ema_rampup:
            ema_nimg = min(ema_nimg, max(self.nimg, 1) * self.config.ema_rampup)
        beta = 0.5 ** (self.config.batch / max(ema_nimg, 1e-8))
        for ema, live in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            ema.copy_(live.detach().lerp(ema, beta))
        for ema, live in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            ema.copy_(live)

    def snapshot(self) -> Path:
        """An EMA generator + D file in the backend layout, and a sample grid beside it."""
        from latentedit.checkpoints.layout import save_networks
        from latentedit.images import grid, save_png, to_uint8

        snapshots = self.run_dir / "snapshots"
        kimg = self.nimg // 1000
        path = save_networks(
            snapshots / f"gan-{kimg:05d}kimg.safetensors", self.G_ema, self.D, source_format="latentedit", force=True
        )
        with torch.no_grad():
            z = torch.stack(
                [torch.randn(self.config.z_dim, generator=torch.Generator().manual_seed(s)) for s in range(16)]
            )
            images = self.G_ema.synthesis(self.G_ema.mapping(z.to(self.device), None), noise_mode="const").cpu()
        save_png(grid(to_uint8(images), columns=4, pad=1), snapshots / f"grid-{kimg:05d}kimg.png", force=True)
        self._log_quality(path)
        return path

    def _log_quality(self, snapshot: Path) -> None:
        """Append the snapshot's scorer-read gaps to the renderer to snapshots/quality.jsonl
        (when the world's scorer is there), so the shipped snapshot is picked by numbers."""
        from latentedit.errors import CheckpointError
        from latentedit.loaders import load_backend
        from latentedit.world.check import snapshot_quality
        from latentedit.world.scorers import WorldScorer

        if self.config.quality_samples <= 0:
            return
        with torch.random.fork_rng(devices=[]):  # building networks draws from torch's RNG: keep the run's own
            try:
                scorer = WorldScorer()
            except CheckpointError:
                return
            report = snapshot_quality(load_backend(f"stylegan2:{snapshot}"), scorer, self.config.quality_samples)
        entry = {"kimg": self.nimg / 1000, "snapshot": snapshot.name, **report}
        with open(snapshot.parent / "quality.jsonl", "a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def run(
        self,
        total_kimg: float,
        checkpoint_kimg: float = 10.0,
        snapshot_kimg: float = 50.0,
        progress: Progress = no_progress,
        log: Path | None = None,
    ) -> None:
        """Train until `total_kimg`; checkpoint and snapshot on the way (resumable at any point)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_config(self.run_dir / "config.json", self.config)
        next_checkpoint = (self.nimg // int(checkpoint_kimg * 1000) + 1) * checkpoint_kimg * 1000
        next_snapshot = (self.nimg // int(snapshot_kimg * 1000) + 1) * snapshot_kimg * 1000
        started, start_nimg = time.perf_counter(), self.nimg
        try:
            while self.nimg < total_kimg * 1000:
                metrics = self.train_step()
                rate = (self.nimg - start_nimg) / 1000 / max(time.perf_counter() - started, 1e-9) * 3600
                progress(self.nimg // 1000, int(total_kimg), kimg_per_h=rate, **metrics)
                if self.nimg >= next_checkpoint or self.nimg >= total_kimg * 1000:
                    self.save()
                    next_checkpoint += checkpoint_kimg * 1000
                    if log is not None:
                        with open(log, "a") as handle:
                            entry = {"kimg": self.nimg / 1000, "kimg_per_h": rate, "time": time.time(), **metrics}
                            handle.write(json.dumps(entry) + "\n")
                if self.nimg >= next_snapshot:
                    self.snapshot()
                    next_snapshot += snapshot_kimg * 1000
        finally:
            self.reals.close()
