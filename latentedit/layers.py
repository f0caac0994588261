"""Layer selections: W+ indices (``-o layers=...``) for the methods and importers that edit some
layers only, and generator conv layers by feature size for methods' default choices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentedit.errors import OptionError

if TYPE_CHECKING:
    from latentedit.backend import Backend


def parse_layers(text: str, num_ws: int) -> list[int]:
    """``'all'`` | ``'0-3'`` | ``'0,2,5'`` (or mixed, ``'0-2,5'``) -> sorted W+ indices, checked
    against the backend's `num_ws`."""
    if text.strip().lower() == "all":
        return list(range(num_ws))
    chosen: set[int] = set()
    try:
        for part in text.split(","):
            start, _, end = part.strip().partition("-")
            chosen.update(range(int(start), int(end or start) + 1))
    except ValueError:
        raise OptionError(
            f"Option layers={text!r}: expected 'all', a range like '0-3' or a list like '0,2,5'."
        ) from None
    bad = sorted(index for index in chosen if not 0 <= index < num_ws)
    if bad or not chosen:
        raise OptionError(f"Option layers={text!r}: indices must lie in 0..{num_ws - 1} for this backend.")
    return sorted(chosen)


def describe_layers(layers: list[int], num_ws: int) -> str:
    """The inverse of `parse_layers`: ``'all'``, ``'0-7'`` or ``'0,2,5'``."""
    if layers == list(range(num_ws)):
        return "all"
    if layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}" if len(layers) > 1 else str(layers[0])
    return ",".join(str(index) for index in layers)


def conv_layers_at(backend: Backend, size: int) -> list[str]:
    """The backend's conv layers whose features are `size` pixels wide, coarse to fine.

    Methods state their default layers this way (e.g. "the last layer at half the output size"),
    so one rule serves StyleGAN2's two convs per resolution and StyleGAN3's many layers per rate.
    """
    return [name for name, width in backend.conv_layer_sizes.items() if width == size]
