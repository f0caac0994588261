"""The Ray engine: a pipeline's stages as Ray Data stages (backend stages as actor pools, one
backend per worker: one per CPU worker, or one per GPU with ``--device cuda``), and discovery's
sampling spread over the same kind of pool. Imported only when ``--engine ray`` runs."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentedit.engine import Engine, WorkerSetup, worker_threads
from latentedit.engine.pipeline import ChunkResult, Pipeline, Stage, run_stages
from latentedit.errors import LatentEditError

if TYPE_CHECKING:
    import numpy as np

    from latentedit.backend import Backend
    from latentedit.progress import Progress
    from latentedit.sampling import Samples

CHUNKS_PER_WORKER = 4
"""Sampling splits its latents into about this many chunks per worker (load balance vs overhead)."""


def connect(engine: Engine) -> None:
    """Join the cluster at ``--ray-address`` (``auto``: the one started on this machine with
    ``ray start``), or start a Ray instance here with ``--ray-cpus`` (default: the usable cores).
    A Ray session already open in this process (a test's, a notebook's) is used as it is."""
    import ray

    from latentedit.threads import available_cores

    if not ray.is_initialized():
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if engine.address is not None:
                ray.init(address=engine.address, **quiet)
            else:
                ray.init(num_cpus=engine.cpus or available_cores(), **quiet)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"the Ray cluster at {engine.address}" if engine.address else "a local Ray instance"
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise LatentEditError(f"Cannot start or reach {where}: {first}") from None
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def worker_pool(device: str, threads: int) -> tuple[int, dict[str, float]]:
    """How many backend workers the cluster holds and what each asks Ray for: one per GPU with
    ``--device cuda``, else one per `threads` CPUs. A worker that dies is not restarted: the run
    stops, and started again it does only what its manifest does not show done."""
    import ray

    resources = ray.cluster_resources()
    if device.startswith("cuda"):
        gpus = int(resources.get("GPU", 0))
        if gpus < 1:
            raise LatentEditError("--device cuda: the Ray cluster has no GPUs; use --device cpu or add GPU workers.")
        return gpus, {"num_gpus": 1, "num_cpus": 1, "max_restarts": 0}
    return max(1, int(resources.get("CPU", 1) // threads)), {"num_cpus": threads, "max_restarts": 0}


LOST_WORKER = ("OutOfMemoryError", "ActorDiedError", "WorkerCrashedError", "NodeDiedError", "ObjectLostError")
"""Ray's errors for a worker or node that went away (killed for memory, crashed, lost): the
environment's doing, not a bug, so one line (exit 2) saying how to go on."""


def rows_of(dataset: Any) -> Iterator[dict[str, Any]]:
    """The dataset's rows as they come; a lost worker stops the run with one line."""
    try:
        yield from dataset.iter_rows()
    except Exception as error:
        kind = type(error).__name__
        if kind not in LOST_WORKER:
            raise
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else kind
        raise LatentEditError(
            f"A Ray worker was lost ({kind}: {first}). What was done is kept: run the same command again to go on."
        ) from None


def actor_stage(dataset: Any, actor: type, args: tuple, workers: int, resources: dict[str, float]) -> Any:
    """`dataset.map` through a pool of `workers` `actor`s built with `args`, each asking Ray for
    `resources` (`worker_pool`)."""
    import ray.data

    with warnings.catch_warnings():  # Ray deprecates passing max_restarts this way, with no other yet
        warnings.simplefilter("ignore")
        return dataset.map(
            actor, fn_constructor_args=args, compute=ray.data.ActorPoolStrategy(size=workers), **resources
        )


class BackendStages:
    """A Ray Data actor: builds the backend once, then runs its stages on every chunk it is given."""

    def __init__(self, setup: WorkerSetup, stages: Sequence[Stage]):
        self.backend = setup.open_backend()
        self.stages = stages

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"index": row["index"], "chunk": run_stages(self.stages, self.backend, row["chunk"])}


def run_file_stages(row: dict[str, Any], stages: Sequence[Stage]) -> dict[str, Any]:
    """A Ray Data task: stages that need no backend (reading, aligning, writing files)."""
    return {"index": row["index"], "chunk": run_stages(stages, None, row["chunk"])}


def run_on_ray(engine: Engine, pipeline: Pipeline, chunks: list[list[Any]]) -> Iterator[ChunkResult]:
    """Stream the chunks through the pipeline as Ray Data stages; results come as chunks finish."""
    if not chunks:
        return
    import ray.data

    connect(engine)
    workers, resources = worker_pool(pipeline.setup.device, pipeline.setup.threads)
    rows = [{"index": index, "chunk": ChunkResult(index, chunk)} for index, chunk in enumerate(chunks)]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
    for uses_backend, stages in pipeline.groups():
        if uses_backend:
            dataset = actor_stage(dataset, BackendStages, (pipeline.setup, stages), min(workers, len(rows)), resources)
        else:
            dataset = dataset.map(
                run_file_stages, fn_args=(stages,), compute=ray.data.TaskPoolStrategy(size=workers), num_cpus=0
            )
    for row in rows_of(dataset):
        yield row["chunk"]


@dataclass
class SampledChunk:
    """One chunk of sampled codes (numpy, for the trip back) and their scores."""

    ws: np.ndarray
    scores: dict[str, np.ndarray]


class Sampler:
    """A Ray Data actor mapping (and scoring) chunks of z exactly as `sampling.sample` does."""

    def __init__(self, setup: WorkerSetup, scorer: Any, keep: str):
        self.backend = setup.open_backend()
        self.scorer = scorer
        self.keep = keep

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        import torch

        from latentedit.sampling import map_and_score

        z = torch.from_numpy(row["z"]).to(self.backend.device)
        ws, scores = map_and_score(self.backend, z, self.scorer, self.keep)
        chunk = SampledChunk(ws.numpy(), {key: value.cpu().numpy() for key, value in scores.items()})
        return {"index": row["index"], "sampled": chunk}


def sample_on_ray(
    engine: Engine, backend: Backend, count: int, seed: int, scorer: Any, progress: Progress, keep: str
) -> Samples:
    """`sampling.sample` on Ray workers: z is drawn here from the one seeded stream, cut into chunks
    on the local engine's batch boundaries and mapped/scored by the workers, so the samples are the
    local engine's, whatever the number of workers."""
    import numpy as np
    import ray.data
    import torch

    from latentedit.sampling import BATCH, Samples, check_sample_memory

    check_sample_memory(backend, count, keep)
    connect(engine)
    threads = worker_threads()
    workers, resources = worker_pool(str(backend.device), threads)
    z = backend.sample_z(count, seed).cpu()
    size = BATCH * max(1, math.ceil(count / BATCH / (CHUNKS_PER_WORKER * workers)))
    rows = [{"index": index, "z": z[start : start + size].numpy()} for index, start in enumerate(range(0, count, size))]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
    setup = WorkerSetup.like(backend, threads)
    dataset = actor_stage(dataset, Sampler, (setup, scorer, keep), min(workers, len(rows)), resources)
    parts: dict[int, SampledChunk] = {}
    done = 0
    progress(0, count)
    for row in rows_of(dataset):
        parts[row["index"]] = row["sampled"]
        done += len(row["sampled"].ws)
        progress(done, count)
    ordered = [parts[index] for index in range(len(rows))]
    ws = torch.from_numpy(np.concatenate([part.ws for part in ordered]))
    names = ordered[0].scores.keys()
    scores = {key: torch.from_numpy(np.concatenate([part.scores[key] for part in ordered])) for key in names}
    return Samples(z, ws, scores)
