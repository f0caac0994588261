"""Naming a catalog's clusters: by hand (``eyes:2+5``), or by overlap with a part segmenter.

The paper's annotator looks at a few cluster maps and merges the clusters that cover a part
(App. A). Auto-labelling does the same against the backend's segmenter: for each part, the set
of clusters whose union has the highest IoU with the part over the samples, grown greedily.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from latentedit.api import LatentEditError

if TYPE_CHECKING:
    import torch

    from latentedit.api import Edit

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _ids(text: str, where: str) -> list[int]:
    ids = []
    for part in re.split(r"[+,\s]+", text.strip()):
        if not part:
            continue
        if not part.isdigit():
            raise LatentEditError(f"{where}: cluster id {part!r} is not a non-negative integer.")
        ids.append(int(part))
    return ids


def parse_label(text: str) -> tuple[str, list[int]]:
    """``eyes=2,5`` or ``eyes:2+5`` -> ("eyes", [2, 5])."""
    match = re.fullmatch(r"\s*([^:=]*?)\s*[:=](.*)", text)
    if match is None or not NAME.match(match.group(1)):
        raise LatentEditError(f"Label {text!r}: write NAME=IDS, e.g. eyes=2,5 (or eyes:2+5).")
    return match.group(1), _ids(match.group(2), f"Label {text!r}")


def parse_labels(text: str) -> dict[str, list[int]]:
    """``eyes:2+5,mouth:3`` -> {"eyes": [2, 5], "mouth": [3]}; a bare id extends the previous name."""
    labels: dict[str, list[int]] = {}
    last = None
    for piece in (item.strip() for item in text.split(",")):
        if not piece:
            continue
        if piece.isdigit() and last is not None:
            labels[last].append(int(piece))
            continue
        last, ids = parse_label(piece)
        labels.setdefault(last, []).extend(ids)
    return labels


def check_labels(labels: dict[str, list[int]], k: int) -> dict[str, list[int]]:
    """Sorted, de-duplicated ids, each in [0, K); names as the region names users type."""
    checked = {}
    for name, ids in labels.items():
        if not NAME.match(name):
            raise LatentEditError(f"Region name {name!r}: use letters, digits, '_' or '-', starting with a letter.")
        bad = [index for index in ids if not 0 <= index < k]
        if bad:
            raise LatentEditError(f"Region {name!r}: cluster id {bad[0]} is out of range; the catalog has 0..{k - 1}.")
        checked[name] = sorted(set(ids))
    return checked


def region_clusters(edit: Edit, region: str | int | list[int]) -> tuple[str, list[int]]:
    """(display name, cluster ids) for a region name, a cluster id, ids, or ``"2+5"``."""
    from latentedit.methods.localstyle_catalog import region_labels

    k = edit.tensors["centroids"].shape[0]
    labels = region_labels(edit)
    if isinstance(region, int):
        ids = [region]
    elif isinstance(region, (list, tuple)):
        ids = [int(index) for index in region]
    elif region in labels:
        return region, labels[region]
    elif re.fullmatch(r"[\d+,\s]+", str(region)):
        ids = _ids(str(region), f"Region {region!r}")
    else:
        known = ", ".join(sorted(labels)) or "none yet (name clusters with `latentedit directions label`)"
        raise LatentEditError(
            f"Unknown region {region!r} in catalog {edit.name!r}. Named regions: {known}; or cluster ids, e.g. 2+5."
        )
    ids = check_labels({"region": ids}, k)["region"]
    if not ids:
        raise LatentEditError("The region names no clusters.")
    return "+".join(str(index) for index in ids), ids


def best_cluster_set(overlap: torch.Tensor, part_area: int, cluster_area: torch.Tensor) -> tuple[list[int], float]:
    """Clusters whose union best matches one part (highest IoU), grown greedily while IoU improves.

    ``overlap[k]`` counts the part's pixels in cluster k; clusters are disjoint, so a union's
    intersection and area are sums.
    """
    chosen: list[int] = []
    inter = area = 0
    best = 0.0
    while True:
        candidates = [
            (
                float(inter + overlap[index]) / float(part_area + area + cluster_area[index] - inter - overlap[index]),
                index,
            )
            for index in range(len(overlap))
            if index not in chosen and part_area + area + cluster_area[index] > 0
        ]
        if not candidates:
            return chosen, best
        iou, index = max(candidates)
        if iou <= best:
            return chosen, best
        chosen.append(index)
        inter, area, best = inter + int(overlap[index]), area + int(cluster_area[index]), iou


def auto_labels(
    overlap: torch.Tensor, part_area: torch.Tensor, cluster_area: torch.Tensor, parts: tuple[str, ...], min_iou: float
) -> tuple[dict[str, list[int]], dict[str, float]]:
    """(labels, IoU of every part present in the samples); parts below `min_iou` stay unlabelled."""
    labels, ious = {}, {}
    for index, part in enumerate(parts):
        if int(part_area[index]) == 0:
            continue
        ids, iou = best_cluster_set(overlap[index], int(part_area[index]), cluster_area)
        ious[part] = round(iou, 4)
        if iou >= min_iou and ids:
            labels[part] = sorted(ids)
    return labels, ious


def label_clusters(edit_path: str | Path, mapping: dict[str, list[int]], replace: bool = False) -> dict[str, list[int]]:
    """Name clusters of a saved catalog (rewritten atomically); returns all its labels.

    Names in `mapping` are added or replaced (an empty id list removes the name); with
    `replace`, `mapping` becomes the whole set of labels.
    """
    from latentedit.api import Edit

    edit = Edit.load(edit_path)
    if edit.method != "localstyle" or "centroids" not in edit.tensors:
        raise LatentEditError(f"{edit_path} is a {edit.method} edit, not a local-style catalog.")
    k = edit.tensors["centroids"].shape[0]
    current = {} if replace else dict(edit.params.get("labels") or {})
    for name, ids in check_labels(mapping, k).items():
        if ids:
            current[name] = ids
        else:
            current.pop(name, None)
    edit.params = {**edit.params, "labels": dict(sorted(current.items()))}
    edit.save(edit_path, force=True)
    return edit.params["labels"]
