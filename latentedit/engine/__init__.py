"""Engines that run the per-image pipeline of `apply DIR` and `invert DIR`, and discovery's sampling:
``local`` (this process, one chunk of inputs after another) and ``ray`` (Ray Data stages on a Ray
cluster's workers, each holding the backend). Both run the same stage functions on the same chunks,
so they write the same bytes (docs/scale.md).

Nothing here imports Ray; `latentedit.engine.ray_engine` does, and only when ``--engine ray`` runs.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError
from latentedit.progress import Progress, no_progress

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.sampling import Samples

ENGINES = ("local", "ray")
INSTALL_RAY = "--engine ray needs Ray, which is not installed: pip install 'latentedit[ray]'"


@dataclass(frozen=True)
class Engine:
    """Where the work runs: ``local``, or ``ray`` on the cluster at ``address`` (``auto``: the one
    running on this machine; None: a Ray instance started here with ``cpus`` CPUs, default all)."""

    name: str = "local"
    address: str | None = None
    cpus: int | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise LatentEditError(f"--engine {self.name!r}: expected one of {', '.join(ENGINES)}.")
        if self.name == "local" and (self.address is not None or self.cpus is not None):
            flag = "--ray-address" if self.address is not None else "--ray-cpus"
            raise LatentEditError(f"{flag} is for --engine ray; add --engine ray or leave it out.")
        if self.address is not None and self.cpus is not None:
            raise LatentEditError("--ray-cpus sizes a Ray instance started here; with --ray-address leave it out.")
        if self.cpus is not None and self.cpus < 1:
            raise LatentEditError(f"--ray-cpus {self.cpus}: expected a positive whole number.")

    @property
    def is_ray(self) -> bool:
        return self.name == "ray"

    def check_installed(self) -> Engine:
        """Refuse ``ray`` in one line where Ray is not installed, before any work; return self."""
        if self.is_ray and importlib.util.find_spec("ray") is None:
            raise LatentEditError(INSTALL_RAY)
        return self


LOCAL = Engine()


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs to build the same backend as the driver: its spelling, device,
    the latentedit home (where the shared inversion cache lives) and torch's thread count."""

    backend: str
    device: str
    home: str
    threads: int

    @classmethod
    def like(cls, backend: Backend, threads: int) -> WorkerSetup:
        from latentedit.store import home

        return cls(backend.name, str(backend.device), str(home().absolute()), threads)

    def open_backend(self) -> Backend:
        """Point this process at the driver's home and thread count, then load the backend."""
        from latentedit.loaders import load_backend
        from latentedit.threads import request_threads

        os.environ["LATENTEDIT_HOME"] = self.home
        request_threads(self.threads)
        device = "cuda" if self.device.startswith("cuda") else self.device  # each GPU worker sees its own as cuda:0
        return load_backend(self.backend, device)


def worker_threads() -> int:
    """Torch threads per worker: ``--threads`` / LATENTEDIT_THREADS where given, else 1 (Ray runs
    one worker per CPU). A local run with the same ``--threads`` computes the same bytes."""
    from latentedit.threads import requested_threads

    return requested_threads() or 1


def draw_samples(
    engine: Engine | None,
    backend: Backend,
    count: int,
    seed: int,
    scorer: Any = None,
    progress: Progress = no_progress,
    keep: str = "w+",
) -> Samples:
    """`latentedit.sampling.sample` on the chosen engine (None: this process); both give the same samples."""
    if engine is None or not engine.is_ray:
        from latentedit.sampling import sample

        return sample(backend, count, seed, scorer, progress, keep)
    from latentedit.engine.ray_engine import sample_on_ray

    return sample_on_ray(engine.check_installed(), backend, count, seed, scorer, progress, keep)
