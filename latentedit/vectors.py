"""Building blocks shared by every method whose edit is a direction vector.

A vector edit stores ``direction`` (unit norm; ``[w_dim]`` for W, ``[num_ws, w_dim]`` for
per-layer W+) and ``strength_unit``: the standard deviation of sampled latents projected on
the direction, so ``strength`` counts standard deviations for every method and backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.errors import IncompatibleEditError, LatentEditError
from latentedit.method import Method, Param

if TYPE_CHECKING:
    import torch

    from latentedit.backend import Backend
    from latentedit.edits import Edit


def unit(vector: torch.Tensor) -> torch.Tensor:
    """`vector` scaled to unit L2 norm over all its elements."""
    norm = vector.norm()
    if not bool(norm > 0):
        raise LatentEditError("Cannot normalise a zero direction.")
    return vector / norm


def conditional_direction(primal: torch.Tensor, conditions: list[torch.Tensor]) -> torch.Tensor:
    """InterFaceGAN's conditional manipulation (Sec. 2.2), for any number of conditions.

    Returns the primal direction minus its projection onto the span of the condition
    directions, renormalised, so moving along it leaves every condition unchanged to first order.
    """
    import torch

    if not conditions:
        return unit(primal)
    shape = primal.shape
    basis = torch.stack([condition.reshape(-1).to(primal) for condition in conditions], dim=1)
    if basis.shape[0] != primal.numel():
        raise IncompatibleEditError(
            f"Condition directions have {basis.shape[0]} elements; the primal direction has {primal.numel()}."
        )
    q, _ = torch.linalg.qr(basis.double())
    flat = primal.reshape(-1).double()
    residual = flat - q @ (q.T @ flat)
    if float(residual.norm()) < 1e-6 * float(flat.norm()):
        raise LatentEditError("The primal direction lies in the span of the conditions; nothing is left to edit.")
    return unit(residual.to(primal.dtype)).reshape(shape)


def project(ws: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Coordinates of latents along a unit direction: ``[N]``.

    ``ws`` is ``[N, w_dim]`` (W or Z) or ``[N, num_ws, w_dim]``; a ``[w_dim]`` direction on W+
    codes is averaged over layers (all layers move together when it is applied).
    """
    if direction.dim() == 1:
        coords = ws @ direction
        return coords.mean(dim=1) if coords.dim() == 2 else coords
    return ws.reshape(ws.shape[0], -1) @ direction.reshape(-1)


def strength_unit(ws: torch.Tensor, direction: torch.Tensor) -> float:
    """Standard deviation of `ws` projected on `direction`: one unit of ``--strength``."""
    std = float(project(ws, direction).std())
    if not std > 0:
        raise LatentEditError("Sampled latents do not vary along this direction; cannot calibrate strength.")
    return std


def vector_edit(
    *,
    method: str,
    name: str,
    space: str,
    direction: torch.Tensor,
    backend: Backend,
    calibration_latents: torch.Tensor,
    attribute: str = "",
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    calibration: dict[str, int] | None = None,
) -> Edit:
    """An Edit holding a unit direction and its calibrated strength unit.

    `calibration` (``{"samples": N, "seed": S}``) says the calibration latents were
    ``sample(backend, N, S)``: recorded in the provenance, it lets `directions export` print the
    import command that re-calibrates to the very same unit."""
    import torch

    from latentedit.edits import Edit

    direction = unit(direction.detach().float().cpu())
    step = strength_unit(calibration_latents.detach().float().cpu(), direction)
    return Edit(
        method=method,
        name=name,
        space=space,
        attribute=attribute,
        tensors={"direction": direction, "strength_unit": torch.tensor(step)},
        backend=backend.fingerprint,
        backend_name=backend.name,
        params=params or {},
        metrics={"strength_unit": step, **(metrics or {})},
        provenance={**(provenance or {}), **({"calibration": calibration} if calibration else {})},
    )


def check_vector_edit(edit: Edit, backend: Backend) -> None:
    """Shapes of a vector edit against the backend, and a unit direction (its size is in
    ``strength_unit``, which loading bounds); one line per mismatch."""
    direction = edit.tensors.get("direction")
    if direction is None or "strength_unit" not in edit.tensors:
        raise IncompatibleEditError(f"Edit {edit.name!r} is not a vector edit (needs 'direction' and 'strength_unit').")
    size = backend.z_dim if edit.space == "z" else backend.w_dim
    expected = [(size,)] if edit.space in ("z", "w") else [(size,), (backend.num_ws, size)]
    if tuple(direction.shape) not in expected:
        raise IncompatibleEditError(
            f"Edit {edit.name!r} has a direction of shape {tuple(direction.shape)}; "
            f"backend {backend.name} expects {' or '.join(str(shape) for shape in expected)} in {edit.space}."
        )
    norm = float(direction.double().norm())
    if not abs(norm - 1) <= 1e-2:
        raise IncompatibleEditError(
            f"Edit {edit.name!r} has a direction of length {norm:g}; a vector edit's direction has length 1."
        )


def move(
    latents: torch.Tensor, edit: Edit, strength: float, conditions: list[torch.Tensor] | None = None
) -> torch.Tensor:
    """``latents + strength · unit · d`` with d optionally orthogonalised against `conditions`."""
    direction = edit.tensors["direction"].to(latents)
    if conditions:
        direction = conditional_direction(direction, conditions)
    step = float(edit.tensors["strength_unit"]) * strength
    if direction.dim() == 1 and latents.dim() == 3:
        return latents + step * direction.view(1, 1, -1)
    return latents + step * direction.unsqueeze(0)


class VectorMethod(Method):
    """A method whose edits are vector edits; `apply` is shared by all of them."""

    apply_params: ClassVar[tuple[Param, ...]] = (
        Param(
            "orthogonal_to",
            "Keep these edits' attributes unchanged: conditional manipulation (vector edits of the same space).",
            kind="edit",
            multiple=True,
            metavar="EDIT",
        ),
    )

    def apply(self, backend: Backend, codes: torch.Tensor, edit: Edit, strength: float, **inputs: Any) -> torch.Tensor:
        """Move Z, W or W+ codes along the direction; ``orthogonal_to=[Edit, ...]`` applies conditional
        manipulation (InterFaceGAN Sec. 2.2) against those edits' directions."""
        check_vector_edit(edit, backend)
        conditions = []
        for other in inputs.get("orthogonal_to") or []:
            check_vector_edit(other, backend)
            if other.space != edit.space or other.tensors["direction"].shape != edit.tensors["direction"].shape:
                raise IncompatibleEditError(f"Edit {other.name!r} and {edit.name!r} live in different spaces.")
            conditions.append(other.tensors["direction"])
        return move(codes, edit, strength, conditions)
