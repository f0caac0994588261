"""Local style transfer (Collins et al., "Editing in Style", CVPR 2020).

Discovery builds a semantic catalog: spherical k-means over a generator layer's activations
(several layers together on small generators) finds K clusters that follow object parts;
Eq. 1 gives, for every style layer, how much each channel contributes to each cluster.
Clusters get names by hand (``-o labels=eyes:2+5``) or by overlap with the backend's part
segmenter (``-o auto_label=true``). Applying the catalog moves the styles of the channels that
act on one region from a target toward a reference image (Eq. 3), with the query chosen
sequentially (Eq. 5, the default) or simultaneously (Eq. 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import Analysis, LatentEditError, Method, OptionError, Param, option, options_dict

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress


HAND_LABEL_K = 12
"""Default K when a person names the clusters from the catalog picture: few enough to tell apart."""
AUTO_LABEL_K = 128
"""Default K when the segmenter names them: on the 64 px world GAN eyes and mouths need small clusters
(IoU with the segmenter's parts >= 0.50 over six k-means seeds at 128, down to 0.40 at 64; docs/localstyle.md)."""


@dataclass
class LocalStyleOptions:
    layer: str = option(
        "auto",
        "Generator layer(s) to cluster, joined by '+'. auto: the paper's first 32x32 layer (b32.conv0); "
        "on generators up to 128 px, whose parts are a few pixels at 32x32, the last conv at half size "
        "and the first two at full size (64 px: b32.conv1 + b64.conv0 + b64.conv1; StyleGAN3: the "
        "layers at those sampling rates, docs/checkpoints.md).",
    )
    k: int = option(
        0,
        "Number of clusters K; 0 picks 128 when the segmenter names them (auto_label: many small clusters "
        "trace small parts) and 12 when you name them by hand (parts split over clusters are merged by name).",
    )
    samples: int = option(200, "Sampled images whose activations are clustered (the paper's N; --samples overrides).")
    restarts: int = option(3, "Seeded k-means++ restarts; the best (highest mean cosine) is kept.")
    standardize: bool = option(
        False, "Standardise each channel before clustering (the paper clusters raw activation vectors)."
    )
    labels: str = option("", "Name clusters, e.g. eyes:2+5,mouth:3 (later: latentedit directions label).")
    auto_label: bool = option(False, "Name clusters after the backend's part segmenter (best IoU over the samples).")
    min_iou: float = option(0.3, "Auto-labelling leaves a part unnamed when its best IoU is below this.")

    @property
    def clusters(self) -> int:
        """K: the `k` option, or the default for how the clusters will be named."""
        return self.k or (AUTO_LABEL_K if self.auto_label else HAND_LABEL_K)

    def validate(self) -> None:
        from latentedit.methods.localstyle_labels import parse_labels

        if self.k != 0 and self.k < 2:
            raise OptionError(f"Option k={self.k}: need at least 2 clusters (or 0 to pick K).")
        if self.samples < 1 or self.restarts < 1:
            raise OptionError("Options samples and restarts must be at least 1.")
        if not 0 <= self.min_iou <= 1:
            raise OptionError(f"Option min_iou={self.min_iou}: expected a fraction in [0, 1].")
        parse_labels(self.labels)


@dataclass
class LocalStyleApplyOptions:
    """How a catalog is applied; `apply` takes these as keyword inputs (`-o` of `latentedit apply`)."""

    mode: str = option("sequential", "Query: sequential (Eq. 5, better localised) or simultaneous (Eq. 4).")
    epsilon: list[float] = option(
        [5.0],
        "Sequential: out-of-region budget per layer, Σ q_c (1 - M_c), in channels (paper: 20-100 of 512; "
        "5 is its 20 scaled to a 128-channel layer; on the world GAN it keeps eyes, mouth and hair edits local). "
        "One value for every style layer, or one per style layer in order, e.g. 2,2,5,... (the authors' code "
        "takes ε per layer).",
    )
    rho: float = option(1 / 9, "Sequential: only channels with M_c > rho / (1 + rho) move (paper: that is 0.1).")

    def validate(self) -> None:
        from latentedit.methods.localstyle_query import check_query_settings

        check_query_settings(self.mode, self.epsilon, self.rho)


class LocalStyle(Method):
    name: ClassVar[str] = "localstyle"
    summary: ClassVar[str] = "Editing in Style: k-means part catalog; transfer a region's style from a reference."
    space: ClassVar[str] = "s"
    Options: ClassVar[type] = LocalStyleOptions
    ApplyOptions: ClassVar[type] = LocalStyleApplyOptions
    inputs: ClassVar[tuple[str, ...]] = ("samples",)
    apply_params: ClassVar[tuple[Param, ...]] = (
        Param("reference", "Local-style edits: image or seed:N whose region style is copied.", kind="image"),
        Param("region", "Local-style edits: region name (e.g. eyes) or cluster ids (e.g. 2+5).", metavar="NAME"),
    )
    """What `apply` needs besides codes: the reference's W+ codes and a region name or cluster ids."""
    analyses: ClassVar[tuple[Analysis, ...]] = (
        Analysis(
            "locality",
            "Local-style catalogs: In/Out-MSE over a λ and ε sweep (paper Fig. 7b).",
            run="latentedit.methods.localstyle_locality:locality_analysis",
            table="latentedit.methods.localstyle_locality:locality_table",
            params=(
                Param("region", "With --locality: the region to transfer.", metavar="NAME"),
                Param("pairs", "With --locality: target/reference pairs (default 100).", kind="int"),
                Param("plot", "With --locality: write the curves as a PNG.", kind="path"),
                Param("heatmap", "With --locality: mean CIELAB error map PNG.", kind="path"),
            ),
        ),
    )
    default_strength: ClassVar[float] = 1.0
    """Sequential mode scales a 0/1 query, so 1 is the paper's full transfer (3 would overshoot)."""

    def preview(self, backend: Backend, edit: Edit, path: Path, force: bool = False) -> Path:
        """The catalog picture: samples over their colour-coded cluster maps (`discover --preview`)."""
        from latentedit.methods.localstyle_catalog import catalog_picture

        return catalog_picture(backend, edit, path, force=force)

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:

        import torch

        from latentedit.api import Edit, scorer_for
        from latentedit.methods.localstyle_catalog import build_catalog, catalog_tensors
        from latentedit.methods.localstyle_labels import auto_labels, check_labels, parse_labels

        count = request.samples or options.samples
        k = options.clusters
        labels = check_labels(parse_labels(options.labels), k)
        segmenter = (
            scorer_for(backend, kind="segmenter", fix="name clusters: -o labels=eyes:2+5 or `directions label`")
            if options.auto_label
            else None
        )
        with torch.inference_mode():
            ws = backend.mapping(backend.sample_z(count, request.seed))
        catalog = build_catalog(
            backend,
            ws,
            options.layer,
            k,
            request.seed,
            options.restarts,
            segmenter,
            progress,
            standardize=options.standardize,
        )
        metrics: dict[str, Any] = {
            "kmeans_cosine": round(catalog.objective, 4),
            "kmeans_iterations": catalog.iterations,
            "cluster_fraction": catalog.cluster_fraction,
        }
        if segmenter is not None:
            assert catalog.overlap is not None and catalog.part_area is not None and catalog.cluster_area is not None
            found, ious = auto_labels(
                catalog.overlap, catalog.part_area, catalog.cluster_area, tuple(segmenter.parts), options.min_iou
            )
            metrics.update({f"iou_{part}": iou for part, iou in ious.items()})
            labels = {**found, **labels}
        params = {
            **options_dict(options),
            "layer": catalog.layer,  # resolved: "auto" would name other layers on another backend
            "k": k,
            "labels": {name: ids for name, ids in sorted(labels.items()) if ids},
        }
        return Edit(
            method=self.name,
            name=request.name,
            space=self.space,
            tensors=catalog_tensors(catalog),
            backend=backend.fingerprint,
            backend_name=backend.name,
            params=params,
            metrics=metrics,
            provenance={
                "samples": count,
                "seed": request.seed,
                "layer": catalog.layer,
                "k": k,
                "labels_from": [
                    source for source, used in (("segmenter", options.auto_label), ("user", options.labels)) if used
                ],
            },
        )

    def apply(
        self,
        backend: Backend,
        ws: torch.Tensor | list[torch.Tensor],
        edit: Edit,
        strength: float,
        reference: torch.Tensor | list[torch.Tensor] | None = None,
        region: str | int | list[int] | None = None,
        mode: str | None = None,
        epsilon: float | Sequence[float] | None = None,
        rho: float | None = None,
        **inputs: Any,
    ) -> list[torch.Tensor]:
        """Target styles with `region` moved toward `reference` (Eq. 3); one ``[N, C]`` tensor per style layer.

        `ws` and `reference` are W+ codes or S-space styles (so local edits compose); a single
        reference broadcasts over the batch. Simultaneous: λ = `strength` (Eq. 4). Sequential:
        `strength` scales the binary query (1 transfers the selected channels fully); `epsilon` is one
        budget for every style layer or one per style layer.
        """
        import torch

        from latentedit.methods.localstyle_catalog import check_catalog
        from latentedit.methods.localstyle_labels import region_clusters
        from latentedit.methods.localstyle_query import interpolate_styles, layer_epsilons, query_vector

        unused = [key for key, value in inputs.items() if value]
        if unused:
            raise LatentEditError(f"Local-style edits do not take {', '.join(unused)}.")
        if reference is None or region is None:
            raise LatentEditError(
                f"Edit {edit.name!r} transfers a region's style: it needs a reference (--reference IMAGE|seed:N) "
                "and a region (--region NAME)."
            )
        settings = LocalStyleApplyOptions()
        mode = settings.mode if mode is None else mode
        rho = settings.rho if rho is None else float(rho)
        check_catalog(edit, backend)
        epsilons = layer_epsilons(settings.epsilon if epsilon is None else epsilon, backend.style_layers)
        _, ids = region_clusters(edit, region)
        with torch.inference_mode():
            target = ws if isinstance(ws, list) else backend.styles(ws)
            source = reference if isinstance(reference, list) else backend.styles(reference.to(backend.device))
            queries = [
                query_vector(edit.tensors[f"contribution.{name}"][ids].sum(dim=0), mode, strength, budget, rho)
                for name, budget in zip(backend.style_layers, epsilons, strict=True)
            ]
            return interpolate_styles(target, source, queries)
