"""`latentedit world render|train`: the embedded world's renderer and training recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from latentedit.commands.common import MAX_SEED, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt
from latentedit.console import emit_json, note, out, progress_bar
from latentedit.errors import LatentEditError
from latentedit.world.seeds import HELDOUT_SEED

StepsOpt = Annotated[int | None, typer.Option("--steps", min=1, help="Training steps (default from the recipe).")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue from the run folder's checkpoint.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Start a new run with the settings of this config.json (a recipe under training/, or another run's); "
        "paths in it are relative to its folder, -o options go on top.",
    ),
]

app = typer.Typer(help="The embedded world: render faces with exact labels, train its networks.", no_args_is_help=True)
train_app = typer.Typer(help="Training recipes (resumable; long runs belong in the background).", no_args_is_help=True)
app.add_typer(train_app, name="train")


@app.command("render")
def render_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for PNGs, masks/ and labels.csv.")],
    n: Annotated[int, typer.Option("--n", min=1, max=1_000_000, help="Number of faces (or pairs).")] = 16,
    seed: Annotated[
        int,
        typer.Option("--seed", min=0, max=MAX_SEED, help="First renderer seed; the default is held out from training."),
    ] = HELDOUT_SEED,
    where: Annotated[str, typer.Option("--where", help="Only faces matching e.g. 'glasses=1,smile>0.5'.")] = "",
    pairs: Annotated[
        str, typer.Option("--pairs", help="Write original/ and modified/ faces with only ATTR raised.")
    ] = "",
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Render faces with exact attribute labels (labels.csv) and part masks (masks/)."""
    from latentedit.world.dataset import write_faces

    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise LatentEditError(f"{out_dir} is not empty; pass --force to write into it.")
    with progress_bar("rendering", quiet or json_output) as progress:
        summary = write_faces(out_dir, n=n, seed=seed, where=where, pairs=pairs, progress=progress)
    if json_output:
        emit_json(summary)
    elif not quiet:
        out().print(
            f"Wrote {summary['count']} {'pairs' if pairs else 'faces'} to {out_dir} (labels: {summary['labels']})"
        )


@train_app.command("gan")
def train_gan_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder: checkpoint, snapshots/, log.jsonl.")] = Path(
        "runs/world-gan"
    ),
    kimg: Annotated[
        float, typer.Option("--kimg", min=0.001, help="Train until this many thousand real images were shown.")
    ] = 1000.0,
    resume: ResumeOpt = False,
    config_file: ConfigOpt = None,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            help="Start a new run from a generator file with its discriminator (e.g. the shipped "
            "latentedit/weights/world_gan.safetensors or a snapshot); optimiser state starts fresh, kimg from 0.",
        ),
    ] = None,
    snapshot_kimg: Annotated[
        float, typer.Option("--snapshot-kimg", min=0.001, help="Keep a generator snapshot and grid this often.")
    ] = 50.0,
    checkpoint_kimg: Annotated[
        float, typer.Option("--checkpoint-kimg", min=0.001, help="Write the resumable checkpoint this often.")
    ] = 5.0,
    options: OptionsOpt = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Torch CPU threads (default: all cores).")
    ] = None,
    device: DeviceOpt = "cpu",
    render_workers: Annotated[
        int,
        typer.Option(
            "--render-workers",
            min=0,
            help="Processes that render real faces ahead of training (0: in line). "
            "On a GPU the renderer is the bottleneck: use about one per free CPU core.",
        ),
    ] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Train the world's StyleGAN2 on renderer faces (CPU is enough; checkpoints let it resume).

    Options (-o KEY=VALUE) are the recipe's: resolution, channel_base, channel_max, batch, lr,
    r1_gamma, r1_interval, style_mixing, ema_kimg, pl_weight (path-length regulariser, 0: off),
    pl_interval, mapping_lr_scale (the mapping network's learning rate, relative),
    hessian_weight (Hessian penalty in W, 0: off), hessian_interval, hessian_epsilon, bf16, seed,
    and scorer guidance: guide_linear_weight (attributes linear in W), guide_statistics_weight
    (attribute means/stds as rendered), guide_scorer (a world_scorer.safetensors of another seed
    than the one `world check` judges with), guide_orthogonal_weight, guide_correlation_weight,
    guide_side_weight (binary attributes pulled to the read-out's side where the scorer is sure),
    guide_edit_weight (edits along W change scores as the read-out predicts; guide_edit_strength,
    guide_edit_random), guide_statistics_temperature, guide_interval, guide_batch, guide_lr, ...
    A run may move between devices: a checkpoint written on a GPU resumes on the CPU and back.
    """
    import torch

    from latentedit.backend import check_device
    from latentedit.world.train.gan import GanConfig, GanTrainer

    check_device(device)
    if threads:
        torch.set_num_threads(threads)
    if resume and init is not None:
        raise LatentEditError("--resume continues the run folder's checkpoint; --init starts a new run. Pick one.")
    config = _run_config(GanConfig, out_dir, resume, options, config_file=config_file)
    trainer = GanTrainer(config, out_dir, device=device, render_workers=render_workers)
    if resume:
        trainer.resume()
        note(f"Resumed at {trainer.nimg / 1000:.1f} kimg.", quiet)
    elif init is not None:
        trainer.start_from(init)
        note(f"Starting from the networks in {init}.", quiet)
    with progress_bar("training GAN (kimg)", quiet) as progress:
        trainer.run(
            kimg,
            checkpoint_kimg=checkpoint_kimg,
            snapshot_kimg=snapshot_kimg,
            progress=progress,
            log=out_dir / "log.jsonl",
        )
    trainer.snapshot()
    out().print(f"Done: {trainer.nimg / 1000:.1f} kimg; snapshots in {out_dir / 'snapshots'}")


def _run_config(
    config_cls: type,
    out_dir: Path,
    resume: bool,
    options: list[str] | None,
    defaults: dict | None = None,
    config_file: Path | None = None,
) -> Any:
    """A recipe's settings. A fresh run may not overwrite a checkpoint and starts from the
    recipe's defaults or a `--config` file; a resumed run keeps its own settings (config.json).
    Any -o given now goes on top, e.g. a gentler blur to finish. Paths in a config.json are
    relative to its folder (`latentedit.world.train.config`)."""
    from latentedit.options import parse_options
    from latentedit.world.train.config import read_config

    if (out_dir / "checkpoint.safetensors").exists() and not resume:
        raise LatentEditError(
            f"{out_dir / 'checkpoint.safetensors'} exists; pass --resume to continue it, or choose another --out."
        )
    if resume and config_file is not None:
        raise LatentEditError("--resume keeps the run folder's config.json; --config starts a new run. Pick one.")
    settings = dict(defaults or {})
    if config_file is not None:
        settings = read_config(config_file, config_cls)
    elif resume and (out_dir / "config.json").exists():
        settings = read_config(out_dir / "config.json", config_cls)
    return parse_options(config_cls, [f"{k}={v}" for k, v in settings.items()] + list(options or []))


def _train_supervised(
    kind: str,
    out_dir: Path,
    steps: int | None,
    resume: bool,
    options: list[str] | None,
    quiet: bool,
    config_file: Path | None = None,
) -> None:
    import json

    from latentedit.fileio import write_json
    from latentedit.world.heldout import evaluate_scorer, evaluate_segmenter
    from latentedit.world.train import supervised
    from latentedit.world.weights import save_module

    builders = {
        "scorer": (supervised.build_scorer, supervised.scorer_loss, evaluate_scorer, {}),
        "segmenter": (supervised.build_segmenter, supervised.segmenter_loss, evaluate_segmenter, {"width": 16}),
    }
    build, loss_fn, evaluate, defaults = builders[kind]
    config = _run_config(supervised.SupervisedConfig, out_dir, resume, options, defaults, config_file)
    if steps is not None:
        config.steps = steps
    trainer = supervised.SupervisedTrainer(build(config), loss_fn, config, out_dir)
    if resume:
        trainer.resume()
        note(f"Resumed at step {trainer.step}.", quiet)
    with progress_bar(f"training {kind}", quiet) as progress:
        trainer.run(progress)
    report = evaluate(trainer.model, count=config.heldout)
    path = save_module(
        out_dir / f"world_{kind}.safetensors", trainer.model, kind, {"heldout": report, "steps": trainer.step}
    )
    write_json(out_dir / "heldout.json", report)
    out().print(f"{kind}: held-out {json.dumps(report)}\nweights: {path}")


@train_app.command("scorers")
def train_scorers_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/world-scorer"),
    steps: StepsOpt = None,
    resume: ResumeOpt = False,
    config_file: ConfigOpt = None,
    options: OptionsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train the attribute scorer on exact renderer labels; writes world_scorer.safetensors."""
    _train_supervised("scorer", out_dir, steps, resume, options, quiet, config_file)


@train_app.command("segmenter")
def train_segmenter_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/world-segmenter"),
    steps: StepsOpt = None,
    resume: ResumeOpt = False,
    config_file: ConfigOpt = None,
    options: OptionsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train the part segmenter on exact renderer masks; writes world_segmenter.safetensors."""
    _train_supervised("segmenter", out_dir, steps, resume, options, quiet, config_file)


@app.command("check")
def check_command(
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="Generator to check (any 64 px world GAN).")
    ] = "embedded",
    samples: Annotated[
        int, typer.Option("--samples", min=100, help="Images per set for scorer and realism numbers.")
    ] = 2000,
    svm_samples: Annotated[
        int, typer.Option("--svm-samples", min=100, help="Generated samples for separability in W.")
    ] = 5000,
    scorer: Annotated[Path | None, typer.Option("--scorer", help="Scorer weights (default: the shipped ones).")] = None,
    segmenter: Annotated[Path | None, typer.Option("--segmenter", help="Segmenter weights (default: shipped).")] = None,
    device: Annotated[str, typer.Option("--device", help="Torch device.")] = "cpu",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure the embedded world's quality bars on fresh held-out samples."""
    from latentedit.errors import CheckpointError
    from latentedit.loaders import load_backend
    from latentedit.world.check import run_check
    from latentedit.world.scorers import WorldScorer, WorldSegmenter

    model = load_backend(backend, device)
    try:
        parts = WorldSegmenter(segmenter, device)
    except CheckpointError as exc:
        note(f"[yellow]{exc} Segmenter numbers are skipped.[/yellow]", quiet or json_output)
        parts = None
    with progress_bar("world check", quiet or json_output) as progress:
        report = run_check(
            model,
            WorldScorer(scorer, device),
            parts,
            samples=samples,
            svm_samples=svm_samples,
            progress=progress,
        )
    if json_output:
        emit_json(report)
        return
    _print_check(report)


def _print_check(report: dict) -> None:
    from rich.table import Table

    from latentedit.world import scoring

    console = out()
    table = Table("attribute", "scorer held-out", "rendered", "generated", "separability in W", title=report["backend"])
    for name, value in report["scorer_heldout"].items():
        rendered, generated = report["rendered"].get(name, {}), report["generated"].get(name, {})
        show = lambda stats: ", ".join(f"{k} {v:.3f}" for k, v in stats.items())  # noqa: E731
        separable = report["separability_w"].get(name)
        if name not in scoring.BINARY:
            separable_text = ""
        else:
            separable_text = "too few of one class" if separable is None else f"{separable:.3f}"
        table.add_row(name, f"{value:.3f}", show(rendered), show(generated), separable_text)
    console.print(table)
    if report["segmenter_heldout"]:
        console.print(f"Segmenter mean IoU: {report['segmenter_heldout']['mean_iou']:.3f}")
    frechet = report["frechet"]
    console.print(
        f"Fréchet distance (scorer features): generated vs rendered {frechet['generated_vs_rendered']:.3f}, "
        f"floor (rendered vs rendered) {frechet['rendered_vs_rendered']:.3f}"
    )
    for bar, passed in report["bars"].items():
        console.print(f"{'[green]PASS[/green]' if passed else '[red]FAIL[/red]'} {bar}")


@train_app.command("encoder")
def train_encoder_command(
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="The generator to invert (the world GAN).")
    ] = "embedded",
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder.")] = Path("runs/world-encoder"),
    steps: StepsOpt = None,
    resume: ResumeOpt = False,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init",
            help="Start from these encoder weights (e.g. the shipped world_encoder.safetensors) to "
            "fine-tune them for a newer generator; offsets are re-anchored at its w_avg.",
        ),
    ] = None,
    config_file: ConfigOpt = None,
    options: OptionsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train the image -> W+ encoder that starts inversion; writes world_encoder.safetensors."""
    import json

    from latentedit.fileio import write_json
    from latentedit.loaders import load_backend
    from latentedit.world.train.encoder import EncoderConfig, EncoderTrainer, evaluate_encoder
    from latentedit.world.weights import save_module

    config = _run_config(EncoderConfig, out_dir, resume, options, config_file=config_file)
    if steps is not None:
        config.steps = steps
    trainer = EncoderTrainer(load_backend(backend), config, out_dir)
    if resume and init is not None:
        raise LatentEditError("--resume continues the run folder's checkpoint; --init starts a new run. Pick one.")
    if resume:
        trainer.resume()
        note(f"Resumed at step {trainer.step}.", quiet)
    elif init is not None:
        trainer.start_from(init)
        note(f"Starting from the encoder weights in {init}.", quiet)
    with progress_bar("training encoder", quiet) as progress:
        trainer.run(progress)
    report = evaluate_encoder(trainer.backend, trainer.encoder, count=config.heldout)
    path = save_module(
        out_dir / "world_encoder.safetensors", trainer.encoder, "encoder", {"heldout": report, "steps": trainer.step}
    )
    write_json(out_dir / "heldout.json", report)
    out().print(f"encoder: held-out {json.dumps(report)}\nweights: {path}")
