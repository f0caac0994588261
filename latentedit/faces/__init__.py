"""Faces in photos: five landmarks -> an aligned crop the generator knows -> the edit pasted back.

``align`` (FFHQ's published geometry, or a template of landmark positions), ``paste`` (inverse warp,
feathered mask, colour match at the seam) and ``templates`` import numpy and Pillow; this module
and ``detectors`` stay light, so the CLI can name them at start-up.

Landmarks are five (x, y) points in this order, image-left first: left eye centre, right eye
centre, nose tip (may be missing), left mouth corner, right mouth corner. Coordinates are in
pixels with pixel (i, j) covering [i, i+1) x [j, j+1): the centre of the top-left pixel is
(0.5, 0.5), as Pillow's transforms count. A detector that reports pixel indices adds 0.5.
"""

from __future__ import annotations

from latentedit.errors import LatentEditError

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""The five points, in the order every landmark array in this package uses."""


class FaceError(LatentEditError):
    """A face that cannot be found, read or aligned."""


class NoFaceError(FaceError):
    """A photo in which no face was found or given."""


class LandmarksError(FaceError):
    """A landmarks file or template that cannot be read or does not hold five points per face."""
