"""A pipeline: stages that each turn a chunk of work items into the next stage's, run by an engine.

A stage is a picklable callable ``stage(backend, items) -> items``; stages with ``uses_backend``
get the worker's backend (the local engine passes the driver's own; Ray builds one per actor),
the others get None (reading, aligning and writing files need no generator). Warnings a stage
raises (a poor reconstruction) travel with its results, so the driver shows them whichever
process ran the stage.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from latentedit.errors import LatentEditWarning

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.engine import Engine, WorkerSetup


class Stage(Protocol):
    uses_backend: bool

    def __call__(self, backend: Backend | None, items: list[Any]) -> list[Any]: ...


@dataclass
class ChunkResult:
    """A chunk's items after the last stage, with its index among the chunks and its warnings."""

    index: int
    items: list[Any]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pipeline:
    setup: WorkerSetup
    stages: Sequence[Stage]

    def groups(self) -> list[tuple[bool, list[Stage]]]:
        """Consecutive stages that do or do not use the backend, in order: each group is one Ray
        Data stage (a backend group is one actor pool, so the backend is loaded once per worker)."""
        grouped: list[tuple[bool, list[Stage]]] = []
        for stage in self.stages:
            if grouped and grouped[-1][0] == stage.uses_backend:
                grouped[-1][1].append(stage)
            else:
                grouped.append((stage.uses_backend, [stage]))
        return grouped


def run_stages(stages: Sequence[Stage], backend: Backend | None, result: ChunkResult) -> ChunkResult:
    """Run `stages` on one chunk, collecting the latentedit warnings they raise."""
    items = result.items
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LatentEditWarning)
        for stage in stages:
            items = stage(backend if stage.uses_backend else None, items)
    raised = [str(entry.message) for entry in caught if issubclass(entry.category, LatentEditWarning)]
    return ChunkResult(result.index, items, result.warnings + raised)


def run(engine: Engine, pipeline: Pipeline, chunks: list[list[Any]], backend: Backend) -> Iterator[ChunkResult]:
    """Each chunk through every stage, as results come (Ray: in any order; local: in order)."""
    if engine.is_ray:
        from latentedit.engine.ray_engine import run_on_ray

        yield from run_on_ray(engine, pipeline, chunks)
        return
    for index, chunk in enumerate(chunks):
        yield run_stages(pipeline.stages, backend, ChunkResult(index, chunk))


def show_warnings(result: ChunkResult) -> None:
    """Raise a chunk's warnings here, on the driver (the CLI prints each as one line)."""
    for message in result.warnings:
        warnings.warn(LatentEditWarning(message), stacklevel=2)
