"""The `latentedit` command line: thin parsing around the library.

Errors: bad input (`LatentEditError`) prints one line and exits 2; anything else is a bug and
exits 1 with a hint to set LATENTEDIT_DEBUG=1 (or pass --debug) for the traceback; Ctrl-C
exits 130. Nothing heavy is imported here: `latentedit --help` must not import torch.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from latentedit.commands import (
    apply,
    checkpoint,
    demo,
    directions,
    discover,
    evaluate,
    generate,
    invert,
    listing,
    world,
)
from latentedit.errors import LatentEditError


def _debug() -> bool:
    return os.environ.get("LATENTEDIT_DEBUG", "") not in ("", "0")


class ErrorHandlingGroup(TyperGroup):
    """Turns library errors into one line + exit code, for every (sub)command."""

    def invoke(self, ctx: Any) -> Any:
        from latentedit.console import err, reset_consoles

        reset_consoles()
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort):
            raise
        except LatentEditError as exc:
            if _debug():
                raise
            err().print(f"[red]Error:[/red] {exc}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err().print("Interrupted.")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:
            if _debug():
                raise
            err().print(
                f"[red]Internal error[/red] ({type(exc).__name__}: {exc}). "
                "This is a bug; set LATENTEDIT_DEBUG=1 to see the traceback."
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=ErrorHandlingGroup,
    name="latentedit",
    help="Discover semantic editing directions in StyleGAN latent spaces and apply them to images.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"latentedit {version('latentedit')}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks (same as LATENTEDIT_DEBUG=1).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """latentedit: find an edit (`discover`), use it (`apply`), measure it (`evaluate`)."""
    if debug:
        os.environ["LATENTEDIT_DEBUG"] = "1"


LEARN, USE, INSPECT = "Learn and edit", "Images", "Inspect and manage"
app.command("demo", rich_help_panel=LEARN)(demo.demo_command)
app.command("discover", rich_help_panel=LEARN, context_settings={"allow_extra_args": True})(discover.discover_command)
app.command("apply", rich_help_panel=LEARN)(apply.apply_command)
app.command("evaluate", rich_help_panel=LEARN)(evaluate.evaluate_command)
app.command("invert", rich_help_panel=USE)(invert.invert_command)
app.command("generate", rich_help_panel=USE)(generate.generate_command)
app.command("import-checkpoint", rich_help_panel=USE)(checkpoint.import_checkpoint_command)
app.add_typer(directions.app, name="directions", rich_help_panel=INSPECT)
app.add_typer(world.app, name="world", rich_help_panel=USE)
app.command("methods", rich_help_panel=INSPECT)(listing.methods_command)
app.command("backends", rich_help_panel=INSPECT)(listing.backends_command)
app.command("plugins", rich_help_panel=INSPECT)(listing.plugins_command)


def _add_plugin_commands() -> None:
    from latentedit.plugins import add_plugin_commands

    try:
        add_plugin_commands(app)
    except LatentEditError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None


_add_plugin_commands()


def main() -> None:
    """Console-script entry point."""
    app()
