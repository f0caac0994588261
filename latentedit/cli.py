"""The `latentedit` command line: thin parsing around the library.

Errors: bad input (a usage error, a `LatentEditError`, or an OS error of the user's files such as
a full disk or a file where a folder belongs) prints one line and exits 2, a traceback first with
LATENTEDIT_DEBUG=1 (or --debug); anything else is a bug and exits 1 with a hint to set
LATENTEDIT_DEBUG=1; Ctrl-C exits 130. Nothing heavy is imported here: `latentedit --help` must
not import torch.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Annotated, Any, NoReturn

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup
from typer.exceptions import TyperException

from latentedit.commands import (
    align,
    apply,
    checkpoint,
    demo,
    directions,
    discover,
    evaluate,
    generate,
    invert,
    listing,
    studio,
    world,
)
from latentedit.errors import LatentEditError


def _debug() -> bool:
    return os.environ.get("LATENTEDIT_DEBUG", "") not in ("", "0")


# The OS errors a user's files and disks cause (not ENOENT: a missing internal file is a bug),
# with the reason as the one-line message says it.
USER_OS_ERRORS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this file system",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "already exists",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EIO: "input/output error",
}


def _fail(message: str, exit_code: int) -> NoReturn:
    """Print `message` as one line (user text escaped, never read as markup) and exit."""
    from rich.markup import escape

    from latentedit.console import err

    err().print(f"[red]Error:[/red] {escape(' '.join(message.split()))}", highlight=False)
    raise typer.Exit(exit_code)


def _usage_message(exc: ClickException) -> str:
    """Click's usage error without its usage box: the message and where to find help."""
    message = exc.format_message().rstrip()
    message += "" if message.endswith((".", "?", "!")) else "."
    ctx = getattr(exc, "ctx", None)
    return f"{message} Try '{ctx.command_path} -h' for help." if ctx is not None else message


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Bad input (usage errors, library errors, a user's file system) -> one line and its exit
    code; with LATENTEDIT_DEBUG=1 the traceback first. Anything else is a bug (exit 1)."""
    try:
        yield
    except (typer.Exit, typer.Abort, NoArgsIsHelpError):
        raise
    except ClickException as exc:
        _fail(_usage_message(exc), exc.exit_code)
    except TyperException:
        raise
    except LatentEditError as exc:
        _traceback_if_debug()
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        from latentedit.console import err

        err().print("Interrupted.")
        raise typer.Exit(130) from None
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except OSError as exc:
        if exc.errno not in USER_OS_ERRORS:
            _bug(exc)
        _traceback_if_debug()
        where = exc.filename2 if exc.filename is None else exc.filename
        _fail(f"{where}: {USER_OS_ERRORS[exc.errno]}." if where is not None else f"{exc.strerror}.", 2)
    except Exception as exc:
        _bug(exc)


def _traceback_if_debug() -> None:
    if _debug():
        traceback.print_exc(file=sys.stderr)


def _bug(exc: Exception) -> NoReturn:
    if _debug():
        raise exc
    from rich.markup import escape

    from latentedit.console import err

    err().print(
        f"[red]Internal error[/red] ({escape(f'{type(exc).__name__}: {exc}')}). "
        "This is a bug; set LATENTEDIT_DEBUG=1 to see the traceback."
    )
    raise typer.Exit(1) from None


def flowing(text: str | None) -> str | None:
    """`text` with each paragraph on one line. Typer's rich help keeps a docstring's line breaks,
    which leave ragged half-lines on a terminal narrower than the source; a paragraph that starts
    with click's ``\\b`` keeps its lines."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(part if part.startswith("\b") else " ".join(part.split()) for part in paragraphs)


def _flow_help(command: Any) -> None:
    """Flow the help of `command` and, for a group, of every command under it."""
    command.help = flowing(command.help)
    for sub in getattr(command, "commands", {}).values():
        _flow_help(sub)


class ErrorHandlingGroup(TyperGroup):
    """Turns usage errors, library errors and a user's OS errors into one line + exit code, for
    every (sub)command: parsing happens in `make_context`, running in `invoke`. Also flows each
    command's help text to the terminal's width (`flowing`)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _flow_help(command)
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        from latentedit.console import reset_consoles

        if parent is None:
            reset_consoles()  # CliRunner swaps sys.stdout between invocations
        with _one_line_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        from latentedit.console import warnings_as_lines

        with _one_line_errors(), warnings_as_lines():
            return super().invoke(ctx)


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
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            envvar="LATENTEDIT_THREADS",
            min=1,
            metavar="N",
            help="CPU threads for torch. Default: the cores this process may use (affinity, cgroup quota).",
        ),
    ] = None,
) -> None:
    """latentedit: find an edit (`discover`), use it (`apply`), measure it (`evaluate`)."""
    from latentedit.threads import request_threads

    if debug:
        os.environ["LATENTEDIT_DEBUG"] = "1"
    request_threads(threads)


LEARN, USE, INSPECT = "Learn and edit", "Images", "Inspect and manage"
app.command("demo", rich_help_panel=LEARN)(demo.demo_command)
app.command("discover", rich_help_panel=LEARN, context_settings={"allow_extra_args": True})(discover.discover_command)
app.command("apply", rich_help_panel=LEARN)(apply.apply_command)
app.command("evaluate", rich_help_panel=LEARN)(evaluate.evaluate_command)
app.command("invert", rich_help_panel=USE)(invert.invert_command)
app.command("align", rich_help_panel=USE)(align.align_command)
app.command("generate", rich_help_panel=USE)(generate.generate_command)
app.command("studio", rich_help_panel=USE)(studio.studio_command)
app.command("import-checkpoint", rich_help_panel=USE)(checkpoint.import_checkpoint_command)
app.add_typer(directions.app, name="directions", rich_help_panel=INSPECT)
app.add_typer(world.app, name="world", rich_help_panel=USE)
app.command("methods", rich_help_panel=INSPECT)(listing.methods_command)
app.command("backends", rich_help_panel=INSPECT)(listing.backends_command)
app.command("plugins", rich_help_panel=INSPECT)(listing.plugins_command)


def _add_plugin_commands() -> None:
    from latentedit.plugins import add_plugin_commands

    try:
        add_plugin_commands(app, directions.app)
    except LatentEditError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None


_add_plugin_commands()


def main() -> None:
    """Console-script entry point."""
    app()
