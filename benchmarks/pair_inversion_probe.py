"""Which inversion makes pair directions agree with InterFaceGAN? (issue 4's pair bar)

Run: .venv/bin/python benchmarks/pair_inversion_probe.py [--attrs glasses,smile] [--samples 10000]
For 10 rendered pairs per attribute (the benchmark's pairs), it inverts both images with
several settings and prints, per setting, the cosine between the pair directions (layer mean
of the W+ difference) and the InterFaceGAN direction in W, plain and conditioned on the
attribute's most correlated partner. Settings: encoder only; 100 / 300 optimisation steps
without noise maps; the same with the "after" image started from the "before" result plus the
encoder's difference (warm start); 300 steps of a single W code. A third reference is the
class-mean difference in W (mean w of the top 2% minus the bottom 2% by score, the samples
InterFaceGAN's SVM is fitted on): W is far from isotropic, so the SVM's normal and the mean
difference differ, and a pair's difference need not follow the normal. About 15 min on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from end_to_end_quality import interfacegan, most_correlated  # noqa: E402

from latentedit.backend import load_backend  # noqa: E402
from latentedit.images import from_uint8, load_image  # noqa: E402
from latentedit.inversion import _perceptual, psnr, synthesize  # noqa: E402
from latentedit.methods.pair import pairs_from_folder  # noqa: E402
from latentedit.world.dataset import write_faces  # noqa: E402
from latentedit.world.seeds import HELDOUT_SEED  # noqa: E402


def optimise(backend, images: torch.Tensor, start: torch.Tensor, steps: int, single_code: bool = False):
    """Pixel + discriminator-feature inversion from `start` (no noise maps); returns W+ and PSNR."""
    layers = start.shape[1]
    code = (start.mean(dim=1, keepdim=True) if single_code else start).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([code], lr=0.04)
    with torch.no_grad():
        wanted = _perceptual(backend, images)
    for step in range(steps):
        optimizer.param_groups[0]["lr"] = 0.04 * 0.5 * (1 + math.cos(math.pi * step / steps))
        made = synthesize(backend, code.expand(-1, layers, -1))
        loss = F.mse_loss(made, images, reduction="none").flatten(1).mean(1).sum()
        for a, b in zip(_perceptual(backend, made), wanted, strict=True):
            loss = loss + (a - b).square().flatten(1).mean(1).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    ws = code.detach().expand(-1, layers, -1)
    with torch.no_grad():
        quality = psnr(synthesize(backend, ws), images)
    return ws, sum(quality) / len(quality)


def class_mean_difference(backend, attribute: str, samples: int, ratio: float = 0.02) -> torch.Tensor:
    """Mean w of the top `ratio` of samples by score minus that of the bottom `ratio`."""
    from latentedit.labels import scorer_for
    from latentedit.sampling import sample

    drawn = sample(backend, samples, 0, scorer_for(backend))
    order = torch.argsort(drawn.scores[attribute])
    count = max(1, int(ratio * samples))
    w = drawn.latents("w")
    return w[order[-count:]].mean(dim=0) - w[order[:count]].mean(dim=0)


def cosines(before: torch.Tensor, after: torch.Tensor, reference: torch.Tensor) -> dict:
    difference = after - before
    singles = difference / difference.flatten(1).norm(dim=1).view(-1, 1, 1)
    per_pair = F.cosine_similarity(singles.mean(dim=1), reference.view(1, -1)).tolist()
    average = float(F.cosine_similarity(singles.mean(dim=(0, 1)).view(1, -1), reference.view(1, -1)))
    return {"single_mean": sum(per_pair) / len(per_pair), "single_min": min(per_pair), "average": average}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--attrs", default="glasses,smile")
    parser.add_argument("--samples", type=int, default=10_000, help="InterFaceGAN's sampled latents")
    parser.add_argument("--work", type=Path, default=Path("runs/e2e-quality"))
    args = parser.parse_args()
    torch.manual_seed(0)
    backend = load_backend(args.backend)
    for attribute in [a for a in args.attrs.split(",") if a]:
        folder = args.work / f"pairs-{attribute}"
        if not (folder / "labels.csv").exists():
            write_faces(folder, n=10, seed=HELDOUT_SEED + 500_000, pairs=attribute)
        pairs = pairs_from_folder(folder)
        before = from_uint8(np.stack([load_image(a, backend.resolution) for a, _ in pairs]))
        after = from_uint8(np.stack([load_image(b, backend.resolution) for _, b in pairs]))
        plain = interfacegan(backend, attribute, [], args.samples).tensors["direction"]
        mean_difference = class_mean_difference(backend, attribute, args.samples)
        partner, _ = most_correlated(attribute)
        conditioned = interfacegan(backend, attribute, [partner], args.samples).tensors["direction"]
        with torch.no_grad():
            encoded_before, encoded_after = backend.encode(before), backend.encode(after)
        settings = {"encoder only": (encoded_before, encoded_after, None)}
        for steps in (100, 300):
            ws_before, psnr_before = optimise(backend, before, encoded_before, steps)
            ws_after, psnr_after = optimise(backend, after, encoded_after, steps)
            settings[f"{steps} steps"] = (ws_before, ws_after, (psnr_before + psnr_after) / 2)
            warm, psnr_warm = optimise(backend, after, ws_before + (encoded_after - encoded_before), steps)
            settings[f"{steps} steps, warm start"] = (ws_before, warm, (psnr_before + psnr_warm) / 2)
        ws_before, psnr_before = optimise(backend, before, encoded_before, 300, single_code=True)
        ws_after, psnr_after = optimise(backend, after, encoded_after, 300, single_code=True)
        settings["300 steps, one W code"] = (ws_before, ws_after, (psnr_before + psnr_after) / 2)
        for name, (ws_before, ws_after, quality) in settings.items():
            row = {"attribute": attribute, "inversion": name, "psnr": quality}
            row.update({f"plain_{k}": v for k, v in cosines(ws_before, ws_after, plain).items()})
            row["conditioned_average"] = cosines(ws_before, ws_after, conditioned)["average"]
            row.update({f"mean_difference_{k}": v for k, v in cosines(ws_before, ws_after, mean_difference).items()})
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)


if __name__ == "__main__":
    main()
