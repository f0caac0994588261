"""Speed and quality benchmarks of latentedit, run from the repository root as modules.

Speed: ``python -m benchmarks.generator`` (the generator against the official code),
``python -m benchmarks.renderer`` (the renderer's statistics and throughput),
``python -m benchmarks.scale`` (batch `apply DIR` and sampling, --engine local vs ray, docs/scale.md).
Quality, on the embedded world (the numbers of docs/results.md):
``python -m benchmarks.end_to_end_quality`` (InterFaceGAN, pair directions, inversion),
``benchmarks.feditnet_quality``, ``benchmarks.wstar_quality``, ``benchmarks.localstyle_quality``,
``benchmarks.attribute_correlations`` (a generator's attribute correlations against the renderer's),
``benchmarks.face_alignment`` (alignment of rendered faces placed in larger photos, docs/faces.md).
One-off probes whose findings are in the docs live in ``benchmarks.probes``.
Every one takes ``--help``, ``--json PATH`` and ``--threads N`` (``benchmarks/common.py``).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch is first imported: as the CLI does
