"""Shared by the network tests: one thread, the stored official-code fixtures, max abs difference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

FIXTURES = Path(__file__).parent / "fixtures" / "nets"


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """These networks are tiny: thread start-up and contention would cost more than the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_fixture(name: str) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(meta JSON, state dict, inputs/outputs) of `tests/fixtures/nets/NAME.*`."""
    meta = json.loads((FIXTURES / f"{name}.json").read_text())
    tensors = load_file(str(FIXTURES / f"{name}.safetensors"))
    state = {key.removeprefix("state."): value for key, value in tensors.items() if key.startswith("state.")}
    io = {key.removeprefix("io."): value for key, value in tensors.items() if key.startswith("io.")}
    return meta, state, io


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference of two tensors of the same shape."""
    assert a.shape == b.shape
    return float((a - b).detach().abs().max())


def assert_official_layout(net: torch.nn.Module, meta: dict[str, Any], state: dict[str, torch.Tensor]) -> None:
    """`net` has the stored official state-dict keys (in order), shapes, buffers and parameters."""
    assert list(net.state_dict()) == meta["state_keys"]
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {k: tuple(v.shape) for k, v in state.items()}
    assert [k for k, _ in net.named_buffers()] == meta["buffers"]
    assert [k for k, _ in net.named_parameters()] == meta["parameters"]
