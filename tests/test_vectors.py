"""Vector-edit building blocks: conditional manipulation and calibrated strength."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latentedit.errors import LatentEditError
from latentedit.vectors import conditional_direction, project, strength_unit, unit


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), conditions=st.integers(1, 4), dim=st.integers(6, 32))
def test_conditional_direction_is_orthogonal_to_every_condition(seed: int, conditions: int, dim: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    primal = torch.randn(dim, generator=generator)
    others = [unit(torch.randn(dim, generator=generator)) for _ in range(conditions)]
    result = conditional_direction(primal, others)
    assert abs(float(result.norm()) - 1) < 1e-5
    for other in others:
        assert abs(float(result @ other)) < 1e-5
    assert float(result @ unit(primal)) > 0  # still points the same way


def test_conditional_direction_keeps_per_layer_shape() -> None:
    primal = torch.randn(4, 8)
    assert conditional_direction(primal, [torch.randn(4, 8)]).shape == (4, 8)


def test_a_primal_inside_the_conditions_span_is_an_error() -> None:
    a, b = torch.eye(3)[0], torch.eye(3)[1]
    with pytest.raises(LatentEditError, match="span of the conditions"):
        conditional_direction(a + b, [a, b])


def test_strength_unit_is_the_projected_standard_deviation() -> None:
    generator = torch.Generator().manual_seed(0)
    ws = torch.randn(20_000, 3, generator=generator) * torch.tensor([1.0, 4.0, 0.5])
    assert strength_unit(ws, torch.tensor([0.0, 1.0, 0.0])) == pytest.approx(4.0, rel=0.03)
    assert strength_unit(ws, torch.tensor([0.0, 0.0, 1.0])) == pytest.approx(0.5, rel=0.03)


def test_projection_of_w_plus_codes_on_a_w_direction_averages_layers() -> None:
    ws = torch.zeros(2, 5, 3)
    ws[:, :, 0] = torch.tensor([[1.0], [3.0]])
    assert torch.allclose(project(ws, torch.tensor([1.0, 0.0, 0.0])), torch.tensor([1.0, 3.0]))
