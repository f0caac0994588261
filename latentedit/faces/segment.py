"""The backend's part segmenter as paste-back's face mask.

Where a backend registers a part segmenter (the embedded world's, trained on the renderer's exact
part maps), the region pasted back is every pixel it labels as a part other than the background,
read on the generator's own drawings of the face (the unedited reconstruction and the edit), which
are the images the segmenter knows, unlike a photo's crop. Their union: hair the edit takes away
is replaced as surely as hair it adds. Without a segmenter, `paste_back` uses the landmarks' ellipse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from latentedit.backend import Backend

NOT_FACE = ("background",)
"""Segmenter parts that are not pasted back."""


def face_segmenter(backend: Backend) -> Any | None:
    """The part segmenter registered for ``backend`` (register_scorers, kind ``segmenter``), or None."""
    from latentedit.labels import scorer_for

    return scorer_for(backend, kind="segmenter", required=False)


def segmented_face(segmenter: Any, drawings: list[np.ndarray]) -> np.ndarray | None:
    """bool [S, S]: the pixels where any of ``drawings`` (uint8 [S, S, 3], one face as the generator
    drew it) shows a part not in `NOT_FACE`; None where no drawing shows one (then the ellipse serves)."""
    import numpy as np

    from latentedit.images import from_uint8

    parts = segmenter.segment(from_uint8(np.stack(drawings))).cpu().numpy()
    outside = [index for index, name in enumerate(segmenter.parts) if name in NOT_FACE]
    face = ~np.isin(parts, outside).all(axis=0)
    return face if face.any() else None
