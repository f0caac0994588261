"""Attribute scorers and part segmenters registered by plugins (`register_scorers`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScorerSpec:
    """A scorer for one backend: images -> ``{attribute: scores}``; or a part segmenter.

    ``factory`` is ``"module:function"`` taking ``device`` and returning the scorer object,
    imported only when scores are needed.
    """

    name: str
    backend: str
    attributes: tuple[str, ...]
    factory: str
    kind: str = "attributes"
    summary: str = ""
    parts: tuple[str, ...] = field(default=())
