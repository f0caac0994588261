"""How linearly a generator's Z and W encode the world's attributes.

Run: python -m benchmarks.probes.w_linearity [GAN.safetensors] [--samples 5000] [--threads 1]
(default: the shipped world GAN). Every linear method here (InterFaceGAN's SVM, a pair
direction, W*'s classifiers, `world check`'s separability bar) assumes an attribute is close to
a half-space or a linear function of W. This probe says how far from that a generator is:
- binary attributes: held-out accuracy of a linear SVM next to a small MLP and the
  majority-class rate (an SVM at the majority rate has found nothing);
- continuous attributes: held-out R² of a linear regression.
It also checks whether the noise inputs decide anything (flips of binary labels between noise
draws with the same w): they should not, or W could not be blamed. And it measures how much
faces agree on which way an attribute grows: the mean cosine between each face's own gradient
d(score)/dw and the mean of those gradients (1: one direction edits every face; near 0: each
face has its own, and no single direction can edit them all; 64 random directions give about
1/8, the cosine of each with their own mean).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmarks import common


def probe(gan: str | None, samples: int, seed: int = 0) -> dict:
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from latentedit import load_backend
    from latentedit.world import scoring
    from latentedit.world.check import generated_images, separability
    from latentedit.world.scorers import WorldScorer

    backend = load_backend(f"stylegan2:{gan}" if gan else "embedded")
    scorer = WorldScorer()
    images, w = generated_images(backend, samples, seed, batch=250)
    z = backend.sample_z(samples, seed).cpu()
    with torch.inference_mode():
        torch.manual_seed(seed)  # the noise draws
        redrawn = w[:500, None].expand(-1, backend.num_ws, -1)
        noise_images = torch.cat([backend.synthesize(chunk, "random") for chunk in redrawn.split(250)])
    scores = scorer.score(images)
    noisy = scorer.score(noise_images)
    report: dict = {"samples": samples, "noise_flips": {}, "z": {}, "w": {}}
    report["gradient_agreement"] = gradient_agreement(backend, scorer)
    for name in scoring.BINARY:
        flips = (noisy[name] > 0.5) != (scores[name][: len(noise_images)] > 0.5)
        report["noise_flips"][name] = float(flips.float().mean())
    for space, codes in (("z", z), ("w", w)):
        svm_accuracy = separability(codes, scores, seed)  # the same held-out SVM as `world check`
        features = StandardScaler().fit_transform(codes.numpy())
        for name in scoring.BINARY:
            labels = (scores[name] > 0.5).numpy().astype(int)
            entry = {
                "rate": float(labels.mean()),
                "majority": float(max(labels.mean(), 1 - labels.mean())),
                "linear_svm": svm_accuracy[name],
            }
            if space == "w":
                train_x, test_x, train_y, test_y = train_test_split(
                    features, labels, test_size=0.2, random_state=seed, stratify=labels
                )
                mlp = MLPClassifier((256, 256), max_iter=300, random_state=seed).fit(train_x, train_y)
                entry["mlp"] = float(mlp.score(test_x, test_y))
            report[space][name] = entry
        split = int(0.8 * samples)
        for name in scoring.CONTINUOUS:
            values = scores[name].numpy()
            fit = LinearRegression().fit(features[:split], values[:split])
            report[space][name] = {"linear_r2": float(fit.score(features[split:], values[split:]))}
    return report


def gradient_agreement(backend, scorer, count: int = 64, seed: int = 3) -> dict[str, float]:
    """Mean cosine of per-face score gradients in W with their mean direction, per attribute."""
    from latentedit.world import scoring
    from latentedit.world.scorers import scorer_input

    with torch.no_grad():
        w = backend.mapping(backend.sample_z(count, seed))[:, :1].clone()
    w.requires_grad_(True)
    scores = scoring.decode(scorer.model(scorer_input(backend.synthesize(w.expand(-1, backend.num_ws, -1)))))
    agreement = {}
    for name in (*scoring.BINARY, *scoring.CONTINUOUS):
        (grads,) = torch.autograd.grad(scores[name].sum(), w, retain_graph=True)
        unit = torch.nn.functional.normalize(grads[:, 0], dim=1)
        mean_direction = torch.nn.functional.normalize(unit.mean(0), dim=0)
        agreement[name] = float((unit @ mean_direction).mean())
    return agreement


def errors_fixed(accuracy: float, majority: float) -> float:
    """Share of the majority guess's errors a classifier avoids (0: no better than the guess, 1:
    perfect). Accuracy alone flatters generators that draw an attribute rarely."""
    return (accuracy - majority) / (1 - majority) if majority < 1 else 0.0


def table(report: dict) -> str:
    header = (
        "| attribute | rate | majority | SVM in Z | SVM in W | SVM in W, errors fixed | MLP in W | noise flips "
        "| gradient agreement |"
    )
    rows = [header, "|---" * 9 + "|"]
    for name, w in report["w"].items():
        z = report["z"][name]
        agree = report["gradient_agreement"][name]
        if "linear_r2" in w:
            rows.append(f"| {name} | | | R² {z['linear_r2']:.2f} | R² {w['linear_r2']:.2f} | | | | {agree:.2f} |")
        else:
            fixed = errors_fixed(w["linear_svm"], w["majority"])
            rows.append(
                f"| {name} | {w['rate']:.2f} | {w['majority']:.2f} | {z['linear_svm']:.3f} | {w['linear_svm']:.3f} | "
                f"{fixed:.2f} | {w['mlp']:.3f} | {report['noise_flips'][name]:.3f} | {agree:.2f} |"
            )
    return "\n".join(rows)


def measure(args) -> dict:
    """The probe's report, printed as a table."""
    result = probe(args.gan, args.samples)
    print(table(result))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("gan", nargs="?", default=None, help="GAN weights (default: the shipped world GAN)")
    parser.add_argument("--samples", type=int, default=5000)
    parser.set_defaults(threads=1)  # the documented tables were measured on one thread
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
