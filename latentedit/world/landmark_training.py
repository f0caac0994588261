"""Train the embedded world's face finder (`latentedit.world.landmarks`) on renders whose
landmarks are exact: faces drawn into photos of colour noise with random similarities.

    python -m latentedit.world.landmark_training --config training/world-landmarks/config.json \\
        --out latentedit/weights/world_landmarks.safetensors

Pointer data: each face drawn at a random size (26-160 px across) into a noisy photo, cropped
as the finder crops it (`sample_crops`) through frames jittered around the face's true frame:
half widely (the first pass, from the locator: centre +-15 %, size x0.75-1.33, turn +-25 deg),
half narrowly (the refinement passes: +-8 %, x0.9-1.1, +-8 deg). Locator data: photos of colour
noise drawn with a longer side of 128-384 px and shrunk to 128 as the finder shrinks a photo,
holding one to three faces 12-110 px across at 128 px (none in one photo in ten), turned +-25 deg.
The seeds start at ``first_seed`` (3,000,000), away from the benchmark's faces (1,000,000 on).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latentedit.faces.align import apply_affine
from latentedit.faces.scenes import noise_photo, paint_face, similarity
from latentedit.faces.templates import rendered_landmarks
from latentedit.world.landmarks import (
    CROP_SCALE,
    FRAME_POINTS,
    LOCATOR_SIDE,
    STRIDE,
    FinderNetworks,
    crop_frames,
    locator_input,
    sample_crops,
    to_input,
)

FRAME = 64
"""The render's frame in the template's pixels (the embedded world's resolution)."""
DETAIL = 2
"""Renders are drawn at DETAIL x FRAME pixels, so a face drawn larger stays sharp."""


@dataclass(frozen=True)
class Recipe:
    """The settings of one training run (training/world-landmarks/config.json)."""

    seed: int = 0
    first_seed: int = 3_000_000
    renders: int = 1200
    crops_per_render: int = 6
    canvases: int = 1200
    pointer_steps: int = 2500
    locator_steps: int = 2500
    batch: int = 32
    lr: float = 2e-3
    locator_width: int = 24
    pointer_width: int = 32


def _render(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The render of face ``seed`` at DETAIL x FRAME pixels and its five landmarks in frame pixels."""
    from latentedit.world.attributes import sample_attributes
    from latentedit.world.render import render

    record = sample_attributes(seed)
    rgb, _ = render(record, FRAME * DETAIL)
    return rgb, rendered_landmarks(record, FRAME * DETAIL) / DETAIL


def _jitter(rng: np.random.Generator, wide: bool) -> tuple[float, float, float, float]:
    """(dx, dy as fractions of the face's side, size factor, turn in radians) of a crop's frame."""
    shift, size, turn = (0.15, math.log(1.33), 25.0) if wide else (0.08, math.log(1.1), 8.0)
    dx, dy = rng.uniform(-shift, shift, 2)
    return float(dx), float(dy), float(math.exp(rng.uniform(-size, size))), math.radians(rng.uniform(-turn, turn))


def pointer_data(recipe: Recipe, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops [N, 3, 64, 64] and their points [N, 7, 2] in crop units: the five landmarks, then the
    render frame's `FRAME_POINTS`."""
    crops, targets = [], []
    for index in range(recipe.renders):
        rgb, points = _render(recipe.first_seed + index)
        side = float(np.exp(rng.uniform(math.log(26.0), math.log(160.0))))
        degrees = float(rng.uniform(-25.0, 25.0))
        photo_side = int(side * 2.2)
        frame = _centred_frame(side, degrees, (photo_side / 2.0, photo_side / 2.0))
        photo = paint_face(noise_photo((photo_side, photo_side), rng), rgb, frame, DETAIL)
        frame_points = np.array(FRAME_POINTS) * FRAME
        landmarks = torch.tensor(apply_affine(frame, np.concatenate([points, frame_points])))
        centre = torch.tensor(apply_affine(frame, np.array([[FRAME / 2.0, FRAME / 2.0]])))[0]
        jitters = [_jitter(rng, wide=k % 2 == 0) for k in range(recipe.crops_per_render)]
        centres = torch.stack([centre + side * torch.tensor([dx, dy], dtype=torch.float64) for dx, dy, _, _ in jitters])
        sides = torch.tensor([side * CROP_SCALE * grow for _, _, grow, _ in jitters], dtype=torch.float64)
        angles = torch.tensor([math.radians(degrees) + turn for *_, turn in jitters], dtype=torch.float64)
        frames = crop_frames(centres, sides, angles)
        crops.append(sample_crops(to_input(photo), frames))
        inverse = torch.linalg.inv(torch.cat([frames, torch.tensor([[[0.0, 0.0, 1.0]]]).expand(len(frames), 1, 3)], 1))
        targets.append(landmarks[None] @ inverse[:, :2, :2].transpose(1, 2) + inverse[:, None, :2, 2])
    return torch.cat(crops), torch.cat(targets).float()


def _centred_frame(side: float, degrees: float, centre: tuple[float, float]) -> np.ndarray:
    """3x3 similarity from frame pixels into a photo: the frame ``side`` px across, turned, centred."""
    turn = similarity(side / FRAME, degrees, (0.0, 0.0))
    offset = turn[:2, :2] @ [FRAME / 2.0, FRAME / 2.0]
    return similarity(side / FRAME, degrees, (centre[0] - offset[0], centre[1] - offset[1]))


def locator_data(recipe: Recipe, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Photos [N, 3, 128, 128] as the locator sees them (drawn at a longer side of 128-384 px, then
    shrunk as `locator_input` shrinks a photo) and their targets [N, 4, 16, 16]: centre heat (a
    Gaussian per face), log size and cell offset (x, y) at each face's centre cell (NaN elsewhere).
    One photo in ten holds no face."""
    cells = LOCATOR_SIDE // STRIDE
    pool = [_render(recipe.first_seed + recipe.renders + k)[0] for k in range(min(recipe.canvases, 400))]
    images, targets = [], []
    for index in range(recipe.canvases):
        longer = int(rng.integers(LOCATOR_SIDE, 3 * LOCATOR_SIDE + 1))
        shorter = int(rng.integers(longer // 2, longer + 1))
        size = (longer, shorter) if rng.random() < 0.5 else (shorter, longer)
        factor = LOCATOR_SIDE / longer
        photo = noise_photo(size, rng)
        target = torch.full((4, cells, cells), float("nan"))
        target[0] = 0.0
        placed: list[tuple[float, float, float]] = []
        for _ in range(0 if index % 10 == 9 else int(rng.integers(1, 4))):
            side = float(np.exp(rng.uniform(math.log(12.0), math.log(min(110.0, min(size) * factor * 0.9))))) / factor
            reach = side * 0.5
            centre = (float(rng.uniform(reach, size[0] - reach)), float(rng.uniform(reach, size[1] - reach)))
            if any(math.hypot(centre[0] - x, centre[1] - y) < 0.6 * (side + s) for x, y, s in placed):
                continue
            placed.append((*centre, side))
            frame = _centred_frame(side, float(rng.uniform(-25.0, 25.0)), centre)
            photo = paint_face(photo, pool[int(rng.integers(len(pool)))], frame, DETAIL)
            _mark(target, (centre[0] * factor, centre[1] * factor), side * factor)
        image, _ = locator_input(to_input(photo))
        images.append(image)
        targets.append(target)
    return torch.cat(images), torch.stack(targets)


def _mark(target: torch.Tensor, centre: tuple[float, float], side: float) -> None:
    """Add one face to a locator target (in place)."""
    cells = target.shape[-1]
    cx, cy = centre[0] / STRIDE, centre[1] / STRIDE
    sigma = max(0.7, side / STRIDE / 6.0)
    grid = torch.arange(cells, dtype=torch.float32) + 0.5
    gauss = torch.exp(-((grid[None, :] - cx) ** 2 + (grid[:, None] - cy) ** 2) / (2 * sigma**2))
    target[0] = torch.maximum(target[0], gauss)
    ix, iy = min(int(cx), cells - 1), min(int(cy), cells - 1)
    target[0, iy, ix] = 1.0
    target[1:, iy, ix] = torch.tensor([math.log(side), cx - ix - 0.5, cy - iy - 0.5])


def locator_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on the heat map (Zhou et al. 2019, eq. 1) plus L1 on
    size and offset at the centre cells."""
    heat = output[:, 0].sigmoid().clamp(1e-4, 1 - 1e-4)
    truth = target[:, 0]
    centre = truth == 1.0
    positive = -((1 - heat) ** 2 * heat.log())[centre].sum()
    negative = -((1 - truth) ** 4 * heat**2 * (1 - heat).log())[~centre].sum()
    count = max(int(centre.sum()), 1)
    mask = centre[:, None].expand(-1, 3, -1, -1)
    regression = F.l1_loss(output[:, 1:][mask], target[:, 1:][mask], reduction="sum")
    return (positive + negative + regression) / count


def fit(model: torch.nn.Module, data: tuple[torch.Tensor, torch.Tensor], loss_fn: Any, steps: int, recipe: Recipe,
        generator: torch.Generator, label: str) -> float:  # fmt: skip
    """Adam with a cosine learning rate over ``steps`` minibatches; returns the last 100 steps' mean loss."""
    inputs, targets = data
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    recent: list[float] = []
    started = time.time()
    for step in range(steps):
        batch = torch.randint(len(inputs), (recipe.batch,), generator=generator)
        loss = loss_fn(model(inputs[batch]), targets[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        recent = (recent + [float(loss.detach())])[-100:]
        if step % 250 == 0 or step == steps - 1:
            print(f"{label} step {step} loss {np.mean(recent):.4f} ({time.time() - started:.0f} s)", flush=True)
    return float(np.mean(recent))


def pointer_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smooth L1 on the landmarks, in pixels of the 64 px crop."""
    return F.smooth_l1_loss(output * 64.0, target * 64.0)


PARTS = ("pointer", "locator")


def train(recipe: Recipe, out: Path, parts: tuple[str, ...] = PARTS, start: Path | None = None) -> dict[str, Any]:
    """Make the data, train the networks named in ``parts`` (the others come from ``start``), write
    both to ``out``; returns what was measured. Each part has its own random streams (seeded by the
    recipe's seed and the part), so training them in one run or apart gives the same weights."""
    from latentedit.world.landmarks import Locator, Pointer
    from latentedit.world.weights import save_module

    networks = FinderNetworks(recipe.locator_width, recipe.pointer_width)
    info: dict[str, Any] = {"recipe": asdict(recipe)}
    started = time.time()
    for number, part in enumerate(PARTS):
        if part not in parts:
            continue
        torch.manual_seed(recipe.seed * len(PARTS) + number)
        rng = np.random.default_rng([recipe.seed, number])
        generator = torch.Generator().manual_seed(recipe.seed * len(PARTS) + number)
        if part == "pointer":
            networks.pointer = Pointer(recipe.pointer_width)
            data, loss_fn, steps = pointer_data(recipe, rng), pointer_loss, recipe.pointer_steps
        else:
            networks.locator = Locator(recipe.locator_width)
            data, loss_fn, steps = locator_data(recipe, rng), locator_loss, recipe.locator_steps
        print(f"{part} data: {len(data[0])} ({time.time() - started:.0f} s)", flush=True)
        info[f"{part}_loss"] = fit(getattr(networks, part), data, loss_fn, steps, recipe, generator, part)
    if start is not None:  # read only now, so the other part may still be training when this run starts
        from safetensors.torch import load_file

        earlier = load_file(str(start))
        for part in sorted(set(PARTS) - set(parts)):
            prefix = f"{part}."
            state = {key[len(prefix) :]: value.float() for key, value in earlier.items() if key.startswith(prefix)}
            getattr(networks, part).load_state_dict(state)
        recorded = json.loads(_info(start))
        info |= {key: value for key, value in recorded.items() if key.split("_")[0] not in parts and key != "recipe"}
    save_module(out, networks.eval(), "landmarks", info | {"seconds": round(time.time() - started)})
    return info


def _info(path: Path) -> str:
    """The training record saved with a finder's weights."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return (handle.metadata() or {}).get("info", "{}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="JSON of Recipe fields (default: the recipe's defaults)")
    parser.add_argument("--out", type=Path, required=True, help="safetensors file to write")
    parser.add_argument(
        "--only", choices=PARTS, help="train this network only; the other comes from --start (else untrained)"
    )
    parser.add_argument(
        "--start", type=Path, help="a finder file the other network is taken from (read when this run saves)"
    )
    args = parser.parse_args(argv)
    recipe = Recipe(**json.loads(args.config.read_text())) if args.config else Recipe()
    print(json.dumps(train(recipe, args.out, (args.only,) if args.only else PARTS, args.start)))


if __name__ == "__main__":
    main()
