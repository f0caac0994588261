"""One exception tree for everything a user can get wrong.

The library raises these; only the CLI prints them (one line, exit code 2).
Anything else escaping to the CLI is a bug (exit 1).
"""

from __future__ import annotations


class LatentEditError(Exception):
    """Bad input or an impossible request; the message is one line that names the fix."""

    exit_code = 2


class UnknownNameError(LatentEditError):
    """A name (method, backend, edit, attribute) that is not registered."""


class UnknownMethodError(UnknownNameError):
    """No method plugin registered under that name."""


class UnknownBackendError(UnknownNameError):
    """No backend factory for that scheme."""


class PluginError(LatentEditError):
    """A plugin registered something invalid (e.g. a name clash)."""


class OptionError(LatentEditError):
    """A `-o KEY=VALUE` option that the method does not know or cannot parse."""


class EditFileError(LatentEditError):
    """An edit file that is missing, corrupt, or of an unknown format version."""


class DirectionFileError(LatentEditError):
    """Another tool's direction file that cannot be read, or does not fit the backend or format."""


class IncompatibleEditError(LatentEditError):
    """An edit learned for another backend or latent shape."""


class BadImageError(LatentEditError):
    """An image file that cannot be read or used."""


class CheckpointError(LatentEditError):
    """A network checkpoint that cannot be imported or loaded."""


class UnsafePickleError(CheckpointError):
    """A pickle that asks to call something outside the known-safe set."""


class FileExistsNoForceError(LatentEditError):
    """Refusing to overwrite an existing file without --force."""


class SomeInputsFailedError(LatentEditError):
    """A batch run (`apply DIR`, `invert DIR`) finished the other inputs, but some failed (each is
    listed with its error above this line). Exit code 3: the run is partly done, not refused."""

    exit_code = 3


class LatentEditWarning(UserWarning):
    """Something worked but the result is doubtful (e.g. a near-chance boundary); the CLI prints one
    line per warning, library callers get it through Python's `warnings`."""
