"""The W* flow T: W+ -> W* (Shukor et al., Sec. 4): a Real NVP without batch normalisation.

Each affine coupling splits the flattened code by index parity (even / odd, alternating from
one coupling to the next), keeps one half and transforms the other:
``y_b = x_b * exp(s(x_a)) + t(x_a)``. ``s`` and ``t`` are 3-layer fully connected nets with
LeakyReLU inside; ``s`` ends in Tanh. The inverse is exact: ``x_b = (y_b - t(y_a)) * exp(-s(y_a))``.
The last layer of every net starts at zero, so T starts as the identity and the classifiers
pre-trained in W+ are meaningful in W* from the first step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from latentedit.api import IncompatibleEditError

if TYPE_CHECKING:
    import torch

PREFIX = "flow."


class RealNVP:
    """A stack of parity couplings over ``dim``-dimensional codes; `net` holds the parameters."""

    def __init__(self, dim: int, hidden: int, couplings: int, negative_slope: float = 0.2) -> None:
        import torch

        if dim < 2 or hidden < 1 or couplings < 1:
            raise IncompatibleEditError(
                f"A flow needs dim >= 2, hidden >= 1, couplings >= 1; got {dim}, {hidden}, {couplings}."
            )
        self.dim, self.hidden, self.couplings, self.negative_slope = dim, hidden, couplings, negative_slope
        layers = []
        for index in range(couplings):
            kept, changed = len(range(index % 2, dim, 2)), len(range(1 - index % 2, dim, 2))
            layers.append(
                torch.nn.ModuleDict(
                    {
                        "scale": self._mlp(kept, changed, torch.nn.Tanh()),
                        "translation": self._mlp(kept, changed, torch.nn.Identity()),
                    }
                )
            )
        self.net = torch.nn.ModuleList(layers)

    def _mlp(self, inputs: int, outputs: int, last: torch.nn.Module) -> torch.nn.Sequential:
        import torch

        mlp = torch.nn.Sequential(
            torch.nn.Linear(inputs, self.hidden),
            torch.nn.LeakyReLU(self.negative_slope),
            torch.nn.Linear(self.hidden, self.hidden),
            torch.nn.LeakyReLU(self.negative_slope),
            torch.nn.Linear(self.hidden, outputs),
            last,
        )
        torch.nn.init.zeros_(mlp[4].weight)
        torch.nn.init.zeros_(mlp[4].bias)
        return mlp

    def config(self) -> dict[str, Any]:
        """What `from_tensors` needs to rebuild the architecture (stored in the edit's params)."""
        return {
            "dim": self.dim,
            "hidden": self.hidden,
            "couplings": self.couplings,
            "negative_slope": self.negative_slope,
        }

    def forward(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``T(w)`` for flat codes ``[N, dim]``, and log|det dT/dw| per code (a diagnostic only:
        the W* losses never use it)."""
        log_det = codes.new_zeros(codes.shape[0])
        for index, coupling in enumerate(self.net):
            keep = index % 2
            kept, changed = codes[:, keep::2], codes[:, 1 - keep :: 2]
            scale = coupling["scale"](kept)
            changed = changed * scale.exp() + coupling["translation"](kept)
            codes = self._merge(kept, changed, keep)
            log_det = log_det + scale.sum(dim=1)
        return codes, log_det

    def inverse(self, codes: torch.Tensor) -> torch.Tensor:
        """``T^-1(w*)``: the couplings undone in reverse order."""
        for index in reversed(range(self.couplings)):
            coupling, keep = self.net[index], index % 2
            kept, changed = codes[:, keep::2], codes[:, 1 - keep :: 2]
            changed = (changed - coupling["translation"](kept)) * (-coupling["scale"](kept)).exp()
            codes = self._merge(kept, changed, keep)
        return codes

    def __call__(self, codes: torch.Tensor) -> torch.Tensor:
        return self.forward(codes)[0]

    @staticmethod
    def _merge(kept: torch.Tensor, changed: torch.Tensor, keep: int) -> torch.Tensor:
        import torch

        merged = torch.empty(kept.shape[0], kept.shape[1] + changed.shape[1], dtype=kept.dtype, device=kept.device)
        merged[:, keep::2] = kept
        merged[:, 1 - keep :: 2] = changed
        return merged

    def parameters(self) -> list[torch.Tensor]:
        return list(self.net.parameters())

    def train(self, mode: bool = True) -> RealNVP:
        self.net.train(mode).requires_grad_(mode)
        return self

    def to(self, device: str | torch.device, dtype: torch.dtype | None = None) -> RealNVP:
        self.net.to(device, dtype)
        return self

    def tensors(self) -> dict[str, torch.Tensor]:
        """The weights as ``flow.<key>`` tensors for an edit file."""
        return {PREFIX + key: value.detach().cpu().clone() for key, value in self.net.state_dict().items()}

    @classmethod
    def from_tensors(cls, config: dict[str, Any], tensors: dict[str, torch.Tensor], where: str) -> RealNVP:
        """Rebuild a frozen flow from `config` and the ``flow.*`` tensors of an edit; one-line errors."""
        try:
            flow = cls(
                int(config["dim"]), int(config["hidden"]), int(config["couplings"]), float(config["negative_slope"])
            )
        except (KeyError, TypeError, ValueError):
            raise IncompatibleEditError(f"{where}: the flow architecture in params is missing or invalid.") from None
        weights = {key[len(PREFIX) :]: value for key, value in tensors.items() if key.startswith(PREFIX)}
        expected = flow.net.state_dict()
        if set(weights) != set(expected):
            missing = sorted(set(expected) - set(weights)) or sorted(set(weights) - set(expected))
            raise IncompatibleEditError(
                f"{where}: flow tensors do not match the architecture (e.g. {PREFIX}{missing[0]})."
            )
        for key, value in weights.items():
            shape = tuple(expected[key].shape)
            if tuple(value.shape) != shape:
                raise IncompatibleEditError(
                    f"{where}: tensor {PREFIX}{key} has shape {tuple(value.shape)}, expected {shape}."
                )
        flow.net.load_state_dict({key: value.float() for key, value in weights.items()})
        return flow.train(False)
