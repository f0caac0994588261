"""Scorer guidance for the world GAN: attributes linear in W, attribute statistics as rendered.

Why it exists: InterFaceGAN and every other linear method assume a W in which attributes are
(nearly) half-spaces, which large StyleGANs get from scale. The world GAN's few hundred kimg
on 2 cores did not get there (docs/world.md: glasses 0.80 separable in W, smile R² 0.18), and
neither the path-length regulariser nor a faster mapping fixed it. Labels are what this world
has instead of scale: a frozen attribute scorer, trained on exact renderer labels, reads every
guided sample, and up to six losses use what it reads.

- **Linearity.** A linear read-out of w, trained alongside, predicts the scorer's outputs
  (binary: logistic, hair colour: softmax, continuous: least squares). The generator is pulled
  toward drawing what the read-out predicts, so each attribute becomes a function of one
  direction of W. The gradient through a saturated scorer output is ~0: confident samples on
  the read-out's side are left alone; the pull falls on the ones the read-out gets wrong.
- **Sides.** The linearity loss's pull saturates where the scorer is sure; `side_loss` pulls
  a face the scorer surely reads on the wrong side of the read-out's boundary over it.
- **Orthogonality.** The read-out's directions of different attributes should be orthogonal,
  so that a step along one attribute's direction leaves the others' read-outs alone. This does
  not forbid the renderer's correlations (gray hair with glasses): the mapping network can
  carry them in W's distribution instead of in the geometry of the directions. It is not
  enough for InterFaceGAN, whose normal follows the class means (next points).
- **Statistics.** Mean and std of every score over the batch should be the renderer's
  (measured once, on renders, through the same scorer): feature matching (Salimans et al.,
  2016) in attribute space, against the rare modes a short run drops (glasses 0.24 vs 0.34).
- **Correlations.** So should the correlations between scores. InterFaceGAN's normal follows
  W's class means, so an edit moves every attribute the samples correlate with the target.
  The renderer makes smile independent of hair colour, but a guided GAN at 860 kimg drew
  smiling faces blond (a correlation 0.52 above the renderer's), and its smile edit bleached
  hair accordingly. Matching correlations over whole batches closed that gap by 910 kimg, but
  not the edits' leak (docs/world.md, "Where InterFaceGAN's leak comes from").
- **Edit consistency.** Linearity on samples alone leaves W linear where samples are, but
  edits go 3 standard deviations out along a direction, where the GAN loss barely looks: a
  guided GAN at 915 kimg, linear in W on samples (glasses 0.94 separable), still let its glasses
  edit grey the hair (+0.49) and its smile edit take beards away (-0.34). So some samples are
  also moved, as an edit would move them, along an attribute's read-out direction or a random
  one, and every score's change must be what the read-out predicts: the target's follows its
  read-out, the others stay put. It trimmed InterFaceGAN's off-target change a little (glasses
  0.18 -> 0.16 in 15 kimg); the rest of the leak is in how the 2% tails InterFaceGAN trains on
  are composed (docs/world.md, "Where InterFaceGAN's leak comes from").

Use a scorer other than the one `world check` measures with (another seed), so the guided GAN
is not simply trained to please its own judge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentedit.world import scoring
from latentedit.world.scorers import scorer_input

# Statistics are taken of tempered probabilities by default: a face the scorer reads as surely
# without glasses has sigmoid'(logit) ~ 0, so plain probabilities give a dropped mode no gradient.
# Once no mode is dropped, temperature 1 matches rates more tightly (guide_statistics_temperature):
# at 4, a 0.06 gap in the glasses rate was a 0.035 gap in the tempered mean.
STATISTICS_TEMPERATURE = 4.0


def soft_scores(raw: dict[str, torch.Tensor], temperature: float = 1.0) -> torch.Tensor:
    """Scorer outputs as one differentiable [N, C] matrix: probabilities (of logits divided by
    `temperature`) for binary heads and hair colour, values for continuous heads, (cos, sin)
    for the cyclic hue."""
    columns = []
    for name, (kind, _) in scoring.HEADS.items():
        value = raw[name].float()
        if kind == "binary":
            columns.append((value / temperature).sigmoid())
        elif kind == "categorical":
            columns.append((value / temperature).softmax(dim=1))
        else:
            columns.append(value)
    return torch.cat(columns, dim=1)


def split_heads(columns: torch.Tensor) -> dict[str, torch.Tensor]:
    """A read-out's [N, C] output as raw outputs per head, shaped as the scorer's."""
    heads, start = {}, 0
    for name, (_, size) in scoring.HEADS.items():
        heads[name] = columns[:, start : start + size]
        start += size
    return heads


EDITABLE = tuple(name for name, (kind, _) in scoring.HEADS.items() if kind in ("binary", "continuous"))
"""Heads with one read-out direction to edit along (hair colour has several, the hue two)."""


class ScorerGuide(nn.Module):
    """The linear read-out of w and the renderer's score statistics (both kept in checkpoints)."""

    def __init__(self, w_dim: int, temperature: float = STATISTICS_TEMPERATURE) -> None:
        super().__init__()
        self.temperature = temperature  # of the statistics and correlations
        outputs = sum(size for _, size in scoring.HEADS.values())
        self.readout = nn.Linear(w_dim, outputs)
        self.register_buffer("real_mean", torch.zeros(outputs))
        self.register_buffer("real_std", torch.ones(outputs))
        self.register_buffer("real_correlation", torch.eye(outputs))
        self.register_buffer("ready", torch.zeros((), dtype=torch.bool))

    def linearity_loss(self, w: torch.Tensor, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        """How far the scorer's reading is from a linear function of w, summed over heads; each
        head's loss has the form its scorer was trained with."""
        predicted = split_heads(self.readout(w))
        total = w.new_zeros(())
        for name, (kind, _) in scoring.HEADS.items():
            guess, value = predicted[name], raw[name].float()
            if kind == "binary":  # logistic loss with the scorer's probability as soft label
                total = total + (F.softplus(guess) - guess * value.sigmoid()).mean()
            elif kind == "categorical":
                total = total + (torch.logsumexp(guess, dim=1) - (value.softmax(dim=1) * guess).sum(1)).mean()
            else:
                total = total + 10 * (guess - value).square().mean()
        return total

    def side_loss(self, w: torch.Tensor, raw: dict[str, torch.Tensor], margin: float = 1.0) -> torch.Tensor:
        """For binary heads, a logistic loss on the scorer's logit toward the side of the
        read-out's boundary a sample is on, where the read-out is sure (|logit| > `margin`).

        Why: the linearity loss gives the generator a gradient through the scorer's probability,
        which vanishes where the scorer is sure, so a face the scorer surely reads on the wrong
        side of the read-out's boundary is never moved (bangs stalled at 0.83-0.88 separable in W
        while an MLP read 0.90-0.94). This one does not saturate there, and leaves the margin alone so
        that no face is pulled toward an ambiguous image. The read-out gets no gradient from it.
        """
        predicted = split_heads(self.readout(w).detach())
        total = w.new_zeros(())
        for name in scoring.BINARY:
            guess = predicted[name][:, 0]
            sure = (guess.abs() > margin).float()
            total = total + (F.softplus(-guess.sign() * raw[name][:, 0].float()) * sure).mean()
        return total

    def orthogonality_loss(self) -> torch.Tensor:
        """Mean squared cosine between read-out directions of different attributes (hair
        colours centred first: only their differences are directions in W)."""
        blocks, owners = [], []
        for index, (name, columns) in enumerate(split_heads(self.readout.weight.T).items()):
            block = columns.T  # this head's read-out rows
            blocks.append(block - block.mean(0, keepdim=True) if scoring.HEADS[name][0] == "categorical" else block)
            owners += [index] * block.shape[0]
        directions = F.normalize(torch.cat(blocks), dim=1)
        owner = torch.tensor(owners, device=directions.device)
        others = owner[:, None] != owner[None, :]
        return (directions @ directions.T)[others].square().mean()

    def edited_codes(self, w: torch.Tensor, strength: float, random_fraction: float) -> torch.Tensor:
        """`w` [N, w_dim] moved as edits move codes: each along one attribute's read-out
        direction (or, for `random_fraction` of them, a random direction) by a uniform number of
        standard deviations in [-strength, strength] (the batch's spread along that direction)."""
        count, device = w.shape[0], w.device
        columns = split_heads(self.readout.weight.detach().T)
        attribute = F.normalize(torch.stack([columns[name][:, 0] for name in EDITABLE]), dim=1)
        chosen = attribute[torch.randint(len(EDITABLE), (count,), device=device)]
        random = F.normalize(torch.randn_like(w), dim=1)
        use_random = torch.rand(count, 1, device=device) < random_fraction
        directions = torch.where(use_random, random, chosen)
        with torch.no_grad():
            spread = (w.detach() @ directions.T).std(dim=0)  # each direction's spread over the batch
        steps = (torch.rand(count, device=device) * 2 - 1) * strength * spread
        return w + steps[:, None] * directions

    def edit_consistency_loss(
        self, w: torch.Tensor, raw: dict[str, torch.Tensor], moved: torch.Tensor, raw_moved: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Squared gap, summed over score columns (probabilities, values in [0, 1]), between how
        much each score changed from `w` to `moved` and how much the read-out says it should."""
        with torch.no_grad():
            predicted = soft_scores(split_heads(self.readout(moved))) - soft_scores(split_heads(self.readout(w)))
        actual = soft_scores(raw_moved) - soft_scores(raw)
        return (actual - predicted).square().sum(1).mean()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        if prefix + "real_correlation" not in state_dict:  # saved before correlations were matched
            state_dict[prefix + "real_correlation"] = self.real_correlation.clone()
            state_dict[prefix + "ready"] = torch.zeros((), dtype=torch.bool)  # measure them on resume
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def correlation_loss(self, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sum over score pairs of the squared gap between the batch's correlation and the
        renderer's (tempered probabilities, as the statistics)."""
        scores = soft_scores(raw, self.temperature)
        centred = scores - scores.mean(0)
        centred = centred / (centred.square().sum(0).sqrt() + 1e-6)
        gap = centred.T @ centred - self.real_correlation
        return gap.square().triu(diagonal=1).sum()

    def statistics_loss(self, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        """Squared gaps of the batch's score means and stds to the renderer's, in units of the
        renderer's std (so rare and wide attributes weigh alike); probabilities at the guide's
        temperature."""
        scores = soft_scores(raw, self.temperature)
        scale = self.real_std.clamp_min(0.05)
        mean_gap = (scores.mean(0) - self.real_mean) / scale
        std_gap = (scores.std(0) - self.real_std) / scale
        return (mean_gap.square() + std_gap.square()).sum()

    @torch.no_grad()
    def measure_renderer(self, scorer: nn.Module, seeds: list[int], resolution: int) -> None:
        """The renderer's score statistics, from faces drawn at the generator's resolution."""
        from latentedit.images import from_uint8
        from latentedit.world.render import render_batch

        scores, device = [], self.real_mean.device
        for start in range(0, len(seeds), 256):
            images = from_uint8(render_batch(seeds[start : start + 256], size=resolution)[0]).to(device)
            scores.append(soft_scores(scorer(scorer_input(images)), self.temperature))
        table = torch.cat(scores)
        self.real_mean.copy_(table.mean(0))
        self.real_std.copy_(table.std(0))
        self.real_correlation.copy_(torch.corrcoef(table.T).nan_to_num(0.0))

    def fit_readout(
        self, w: torch.Tensor, raw: dict[str, torch.Tensor], steps: int = 300, orthogonal_weight: float = 0.0
    ) -> None:
        """Fit the read-out alone (from where it is) on fixed samples before it may pull the
        generator: a random read-out would pull toward random half-spaces. `orthogonal_weight`
        is the orthogonality loss's weight relative to the linearity loss's."""
        raw = {name: value.detach() for name, value in raw.items()}
        optimizer = torch.optim.Adam(self.readout.parameters(), lr=1e-2)
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = self.linearity_loss(w.detach(), raw)
            if orthogonal_weight:
                loss = loss + orthogonal_weight * self.orthogonality_loss()
            loss.backward()
            optimizer.step()
        self.ready.fill_(True)


def load_guide_scorer(path: str, device: torch.device) -> nn.Module:
    """The frozen scorer that guides training: `path`, or the world's shipped scorer when empty."""
    from latentedit.errors import CheckpointError
    from latentedit.world.networks import AttributeScorer
    from latentedit.world.weights import SCORER, load_module, weights_path

    if path and not Path(path).is_file():
        raise CheckpointError(
            f"No guide scorer at {path}. Train it with `latentedit world train scorers --config "
            "training/guide-scorer/config.json --out runs/guide-scorer`, or give another with -o guide_scorer=FILE."
        )
    return load_module(Path(path) if path else weights_path(SCORER), AttributeScorer, "scorer", str(device))


def scorer_fingerprint(scorer: nn.Module) -> str:
    """Tells guide scorers apart, so a run resumed with another one re-measures the renderer's
    statistics through it (they are in that scorer's units)."""
    total = sum(float(parameter.detach().double().abs().sum()) for parameter in scorer.parameters())
    return f"{total:.6e}"


def renderer_seeds(seed: int, count: int) -> list[int]:
    """Training-range seeds for the renderer statistics, from their own stream (the trainer's
    stream, and so the faces a run trains on, stay as they were without guidance)."""
    from latentedit.world.seeds import TRAIN_SEED_RANGE

    return np.random.default_rng([seed, 7]).integers(0, TRAIN_SEED_RANGE, size=count).tolist()
