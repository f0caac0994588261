"""The driver of a batch run, the same for both engines: split the inputs not done yet into
chunks, run the pipeline on them, record every result in the manifest as it comes, and report
images done / total and throughput."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from latentedit.engine import Engine, WorkerSetup, worker_threads
from latentedit.engine.photo_stages import Failure, Finished, describe_input
from latentedit.engine.pipeline import Pipeline, Stage, run, show_warnings
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.engine.manifest import Manifest
    from latentedit.inputs import Input


@dataclass
class BatchResult:
    """What a run did: the inputs it finished (by name), those that failed, and how many an earlier
    run had done already (skipped)."""

    finished: dict[str, Finished]
    failures: list[Failure]
    skipped: int


def chunked(items: Sequence[Input], size: int) -> list[list[Input]]:
    """Consecutive chunks of `size` inputs: the unit every engine hands a worker (and the batches
    inversion optimises together, so both engines batch alike)."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def run_batch(
    engine: Engine,
    backend: Backend,
    items: list[Input],
    stages: Sequence[Stage],
    manifest: Manifest,
    chunk_size: int,
    progress: Progress = no_progress,
    skip_done: bool = True,
) -> BatchResult:
    """Run `stages` over the inputs the manifest does not show done (`skip_done`), chunk by chunk."""
    order = [item.name for item in items]
    shown = {item.name: describe_input(item) for item in items}
    todo = [item for item in items if not (skip_done and manifest.done(item))]
    skipped = len(items) - len(todo)
    pipeline = Pipeline(WorkerSetup.like(backend, worker_threads()), stages)
    finished: dict[str, Finished] = {}
    failures: list[Failure] = []
    started, count = time.perf_counter(), 0
    progress(skipped, len(items))
    try:
        for result in run(engine, pipeline, chunked(todo, chunk_size), backend):
            show_warnings(result)
            for entry in result.items:
                if isinstance(entry, Failure):
                    manifest.fail(entry)
                    failures.append(entry)
                else:
                    manifest.finish(shown[entry.name], entry)
                    finished[entry.name] = entry
            count += len(result.items)
            rate = count / max(time.perf_counter() - started, 1e-9)
            progress(skipped + count, len(items), images_per_s=round(rate, 2))
            manifest.save(order, now=False)
    finally:
        manifest.save(order)
    failures.sort(key=lambda failure: order.index(failure.name))
    return BatchResult(finished, failures, skipped)
