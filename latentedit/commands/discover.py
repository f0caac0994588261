"""`latentedit discover`: run a method, store what it learned as an edit file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, OptionsOpt, QuietOpt, SeedOpt
from latentedit.commands.engine_options import EngineOpt, RayAddressOpt, RayCpusOpt, chosen_engine
from latentedit.commands.photo_options import AlignOpt
from latentedit.commands.plugin_params import Declared, PluginCommand, flags_given, merge, refuse_unused, resolve_values
from latentedit.console import emit_json, out, progress_bar, short_metric
from latentedit.errors import LatentEditError


def discover_params() -> dict[str, Declared]:
    """The inputs of their own that registered methods add to `discover`."""
    from latentedit.plugins import get_plugins

    rows = [
        (entry.plugin, entry.name, f"Inputs of {entry.name}", param)
        for entry in get_plugins().methods
        for param in entry.value.discover_params
    ]
    return merge(rows, OWN_FLAGS)


def discover(
    ctx: typer.Context,
    method: Annotated[str, typer.Option("--method", "-m", help="Method name; the `methods` command lists them.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Store the edit under this name (default: the attribute or method).")
    ] = None,
    attr: Annotated[str, typer.Option("--attr", help="Attribute to learn, e.g. smile.")] = "",
    attrs: Annotated[str, typer.Option("--attrs", help="Comma list of attributes (methods that learn several).")] = "",
    samples: Annotated[
        int | None, typer.Option("--samples", min=1, help="Number of sampled latents, where the method samples.")
    ] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="CSV of labels (seed or image path, score).")] = None,
    positives: Annotated[
        Path | None, typer.Option("--positives", help="Folder of images showing the attribute.")
    ] = None,
    negatives: Annotated[
        Path | None, typer.Option("--negatives", help="Folder of images without the attribute.")
    ] = None,
    pair: Annotated[
        list[Path] | None,
        typer.Option(
            "--pair", metavar="BEFORE AFTER", help="An image pair: same face, attribute changed (repeatable)."
        ),
    ] = None,
    pairs_dir: Annotated[
        Path | None, typer.Option("--pairs-dir", help="Folder with original/ and modified/ images of the same names.")
    ] = None,
    orthogonal_to: Annotated[
        list[str] | None, typer.Option("--orthogonal-to", help="Edit(s) the result must not move along.")
    ] = None,
    options: OptionsOpt = None,
    align: AlignOpt = "auto",
    out_path: Annotated[Path | None, typer.Option("--out", help="Write the edit here instead of the store.")] = None,
    preview: Annotated[
        Path | None, typer.Option("--preview", help="Also write a picture of what was learned (catalog methods).")
    ] = None,
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    ray_cpus: RayCpusOpt = None,
    backend: BackendOpt = "embedded",
    device: DeviceOpt = "cpu",
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    extras: dict | None = None,
) -> None:
    """Learn an editing direction with a method and store it as an edit file.

    The shared inputs (--attr, --labels, --positives, --pair, ...) are read by the methods that
    list them (see the `methods NAME` command); methods of plugins may add inputs of their own.
    Photos among them (folders, pairs, images in a labels CSV) have their most confident face
    aligned as apply aligns it (--align; a crop at the generator's size is used as it is).
    --engine ray draws and scores the sampled latents on Ray workers (same samples, same edit file).
    """
    from latentedit.edits import Edit
    from latentedit.fileio import check_writable
    from latentedit.loaders import load_backend
    from latentedit.method import DiscoverRequest
    from latentedit.options import parse_options
    from latentedit.photos import FaceFinder, PhotoReading, check_align_mode, reading_photos, template_for
    from latentedit.plugins import get_plugins
    from latentedit.store import check_name, edit_path, resolve_edit

    run_engine = chosen_engine(engine, ray_address, ray_cpus)
    method_cls = get_plugins().methods.get(method)
    check_align_mode(align)
    if preview is not None and not hasattr(method_cls, "preview"):
        raise LatentEditError(
            f"Method {method!r} has no preview picture; --preview is for catalog methods (localstyle)."
        )
    declared = discover_params()
    wanted = flags_given(extras or {})
    own = {param.name for param in method_cls.discover_params}
    refuse_unused(wanted, declared, own, f"method {method!r} does not take it")
    pairs = _pairs(pair or [], list(ctx.args), pairs_dir)
    given = {
        "attr": attr,
        "attrs": attrs,
        "labels": labels,
        "positives": positives,
        "negatives": negatives,
        "pairs": pairs,
        "samples": samples,
        "orthogonal_to": orthogonal_to,
    }
    unused = [key for key, value in given.items() if value and key not in method_cls.inputs]
    if unused:
        flags = ", ".join({"pairs": "--pair"}.get(key, "--" + key.replace("_", "-")) for key in unused)
        raise LatentEditError(
            f"Method {method!r} does not use {flags}. It takes: {', '.join(method_cls.inputs) or 'no inputs'}."
        )
    parsed = parse_options(method_cls.Options, options)
    edit_name = check_name(name or attr or method)
    model = load_backend(backend, device)
    target = out_path or edit_path(edit_name, model.name)
    check_writable(target, force)
    if preview is not None:
        check_writable(preview, force)
    request = DiscoverRequest(
        name=edit_name,
        attr=attr,
        attrs=[item.strip() for item in attrs.split(",") if item.strip()],
        samples=samples,
        seed=seed,
        labels=labels,
        positives=positives,
        negatives=negatives,
        pairs=pairs,
        orthogonal_to=[Edit.load(resolve_edit(other, model.name)) for other in orthogonal_to or []],
        extras=resolve_values(wanted, declared, model),
        engine=run_engine,
    )
    reading = PhotoReading(align, FaceFinder(backend=model.name), template_for(model))
    started = time.perf_counter()
    with progress_bar(f"discover {method}", quiet or json_output) as progress, reading_photos(reading):
        edit = method_cls().discover(model, request, parsed, progress)
    seconds = round(time.perf_counter() - started, 1)  # reported, not stored: files stay byte-reproducible
    path = edit.save(target, force=force)
    if preview is not None:
        preview = method_cls().preview(model, edit, preview, force=force)
    if json_output:
        document = {"name": edit.name, "path": str(path), "method": edit.method, "metadata": edit.metadata()}
        document["seconds"] = seconds
        emit_json({**document, "preview": str(preview) if preview else None})
    elif not quiet:
        metrics = ", ".join(f"{key}={short_metric(value)}" for key, value in edit.metrics.items())
        from rich.markup import escape

        saved = f"({edit.method}, {edit.space}) to {escape(str(path))} in {seconds:g} s"
        out().print(f"Saved edit [bold]{edit.name}[/bold] {saved}\n{escape(metrics)}")


def _pairs(firsts: list[Path], seconds: list[str], folder: Path | None) -> list[tuple[Path, Path]]:
    """``--pair A B --pair C D`` arrive as firsts [A, C] and leftover arguments [B, D]."""
    if len(seconds) != len(firsts):
        extra = seconds[len(firsts) :] or ["(missing)"]
        raise LatentEditError(f"--pair takes two images, BEFORE AFTER; unexpected or missing argument: {extra[0]}.")
    pairs = [(first, Path(second)) for first, second in zip(firsts, seconds, strict=True)]
    if folder is not None:
        from latentedit.labels import pairs_from_folder

        pairs.extend(pairs_from_folder(folder))
    for before, after in pairs:
        for path in (before, after):
            if not path.is_file():
                raise LatentEditError(f"Image {path} not found.")
    return pairs


OWN_FLAGS = PluginCommand(discover, dict).own_names()
discover_command = PluginCommand(discover, discover_params)
