"""W* (Shukor et al., "Semantic unfolding of StyleGAN latent space", ICIP 2022).

Learn a bijection T: W+ -> W* (a Real NVP, `wstar_flow`) in which K attributes are linearly
separable with large margins and editing one leaves the others alone (`wstar_losses`, Eqs. 1-3),
then edit as InterFaceGAN does, in W*: ``w' = T^-1(T(w) + s · unit · d)``, where d is the unit
normal of a linear SVM fitted in W* and unit the standard deviation of T(w) along d.

One edit file holds everything: the flow weights (``flow.*``), a direction per attribute
(``direction.<attr>``, flat ``[num_ws * w_dim]``) and its strength unit (``strength_unit.<attr>``);
``params`` holds the flow architecture, so `apply` rebuilds T from the file alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import (
    Analysis,
    IncompatibleEditError,
    LatentEditError,
    Method,
    OptionError,
    Param,
    no_progress,
    option,
    options_dict,
)

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress
    from latentedit.methods.wstar_flow import RealNVP

SPACE = "w*"
DIRECTION = "direction."
STRENGTH_UNIT = "strength_unit."
EDIT_SCALE_REFRESH = 250
"""Steps between re-measurements of each attribute's spread in W* (the size of the L_ap edit)."""
EDIT_SCALE_CODES = 512


@dataclass
class WStarOptions:
    samples: int = option(10_000, "Latents to sample and score (--samples overrides).")
    steps: int = option(4000, "Flow training steps (batches).")
    batch: int = option(8, "Batch size (paper: 8).")
    lr: float = option(1e-4, "Adam learning rate (paper: 1e-4).")
    beta1: float = option(0.9, "Adam beta1 (paper: 0.9).")
    beta2: float = option(0.999, "Adam beta2 (paper: 0.999).")
    lambda_lm: float = option(
        0.001, "Weight of the large-margin loss, Eq. 2 (not in the paper; 0.01 stretched W* until edits reversed)."
    )
    lambda_ap: float = option(0.1, "Weight of the attribute-preservation loss, Eq. 3 (paper: 0.1).")
    ap_strength: float = option(
        3.0, "Size of the L_ap edit, in standard deviations of T(w) along the edited attribute's normal."
    )
    hidden: int = option(256, "Hidden width of each coupling's scale and translation nets.")
    couplings: int = option(4, "Number of affine coupling layers (masks alternate even/odd dimensions).")
    negative_slope: float = option(0.01, "LeakyReLU slope inside the coupling nets (PyTorch's default).")
    classifier_steps: int = option(200, "Full-batch Adam steps pre-training the linear classifiers in W+.")
    classifier_lr: float = option(0.01, "Learning rate of the classifier pre-training.")
    C: float = option(
        0.001, "Regularisation of the W* SVMs giving the directions (scikit-learn's C, codes scaled to unit std)."
    )
    validation: float = option(0.1, "Fraction of the samples held out to measure accuracies.")
    thresholds: list[str] = option(
        [], "Label thresholds NAME:VALUE overriding the default rule (binary 0.5, continuous the median)."
    )

    def validate(self) -> None:
        positive = {"samples": self.samples, "steps": self.steps, "batch": self.batch, "hidden": self.hidden}
        positive |= {"couplings": self.couplings, "lr": self.lr, "classifier_lr": self.classifier_lr, "C": self.C}
        for key, value in positive.items():
            if not value > 0:
                raise OptionError(f"Option {key}={value}: expected a positive number.")
        if self.samples < 50:
            raise OptionError(f"Option samples={self.samples}: need at least 50.")
        if not 0 < self.validation < 0.5:
            raise OptionError(f"Option validation={self.validation}: expected a fraction in (0, 0.5).")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise OptionError(f"Options beta1={self.beta1}, beta2={self.beta2}: expected values in [0, 1).")
        if self.lambda_lm < 0 or self.lambda_ap < 0 or self.ap_strength < 0:
            raise OptionError("Options lambda_lm, lambda_ap and ap_strength cannot be negative.")
        if self.classifier_steps < 1:
            raise OptionError(f"Option classifier_steps={self.classifier_steps}: the classifiers need at least 1 step.")
        given_thresholds(self.thresholds)


def given_thresholds(items: list[str]) -> dict[str, float]:
    """``["smile:0.2", ...]`` -> ``{"smile": 0.2}`` (the name may contain '=', e.g. hair_color=gray)."""
    result = {}
    for item in items:
        name, sep, raw = item.rpartition(":")
        try:
            if not sep or not name:
                raise ValueError
            result[name] = float(raw)
        except ValueError:
            raise OptionError(f"Option thresholds: {item!r} must be NAME:VALUE, e.g. smile:0.2.") from None
    return result


def label_threshold(scores: torch.Tensor, binary: bool, given: float | None = None) -> tuple[float, str]:
    """Where an attribute's scores split into 0/1 labels (the paper's classifiers are binary).

    A given threshold wins; binary attributes (declared by the scorer, or whose scores all lie in
    [0, 1] with 90% within 0.1 of 0 or 1: probabilities or 0/1 labels) split at 0.5; continuous
    ones at their median, which balances the classes.
    """
    if given is not None:
        return given, "given"
    looks_binary = (
        bool((scores >= 0).all() and (scores <= 1).all())
        and float(((scores <= 0.1) | (scores >= 0.9)).float().mean()) >= 0.9
    )
    if binary or looks_binary:
        return 0.5, "binary"
    return float(scores.median()), "median"


def binary_labels(
    scores: dict[str, torch.Tensor],
    attributes: list[str],
    declared_binary: tuple[str, ...],
    thresholds: dict[str, float],
) -> tuple[torch.Tensor, dict[str, dict[str, Any]]]:
    """0/1 labels ``[N, K]`` and, per attribute, the threshold, its rule and the positive rate."""
    import torch

    columns, report = [], {}
    for name in attributes:
        threshold, rule = label_threshold(scores[name], name in declared_binary, thresholds.get(name))
        labels = (scores[name] > threshold).float()
        rate = float(labels.mean())
        if rate in (0.0, 1.0):
            raise LatentEditError(
                f"Attribute {name!r}: every sample falls on one side of threshold {threshold:.4g}; "
                f"give another with -o thresholds={name}:VALUE."
            )
        columns.append(labels)
        report[name] = {"threshold": threshold, "rule": rule, "positive_rate": rate}
    return torch.stack(columns, dim=1), report


def scorer_attributes(scorer: Any, requested: list[str]) -> list[str]:
    """The score columns to learn: the requested ones (checked), or every non-cyclic column."""
    from latentedit.api import check_attribute

    columns = list(getattr(scorer, "columns", scorer.attributes))
    if not requested:
        return [name for name in columns if name not in getattr(scorer, "cyclic", ())]
    for name in requested:
        check_attribute(scorer, name)
        if name not in columns:
            options = ", ".join(column for column in columns if column.startswith(name + "=")) or ", ".join(columns)
            raise LatentEditError(f"Attribute {name!r} is not a numeric score; use one of its columns: {options}.")
    if len(set(requested)) != len(requested):
        raise LatentEditError("--attrs names an attribute twice.")
    return list(requested)


@dataclass
class LabelledCodes:
    """W+ codes ``[N, num_ws, w_dim]``, raw scores per attribute, and where they came from."""

    ws: torch.Tensor
    scores: dict[str, torch.Tensor]
    attributes: list[str]
    declared_binary: tuple[str, ...]
    provenance: dict[str, Any]


def scored_samples(backend: Backend, request: DiscoverRequest, count: int, progress: Progress) -> LabelledCodes:
    """Sampled W+ codes scored by the backend's attribute scorer."""
    from latentedit.api import scorer_for

    scorer = scorer_for(backend, fix="give labels with --labels FILE.csv")
    attributes = scorer_attributes(scorer, request.attrs)
    samples = request.sample(backend, count, scorer, with_phase(progress, "sample"))
    provenance = {"samples": count, "seed": request.seed, "labels": f"scorer:{backend.name}"}
    return LabelledCodes(samples.ws, samples.scores, attributes, tuple(getattr(scorer, "binary", ())), provenance)


def table_samples(backend: Backend, request: DiscoverRequest, progress: Progress) -> LabelledCodes:
    """W+ codes for the rows of a labels table: seeds through the mapping, images inverted."""
    from latentedit.api import labelled_codes, read_label_table

    table = read_label_table(request.labels)
    attributes = list(request.attrs) or table.columns
    missing = [name for name in attributes if name not in table.columns]
    if missing:
        raise LatentEditError(f"{request.labels} has no column {missing[0]!r}; it has: {', '.join(table.columns)}.")
    codes, scores = labelled_codes(backend, table, attributes, "w+", progress)
    return LabelledCodes(codes, scores, attributes, (), table.provenance())


def with_phase(progress: Progress, phase: str) -> Progress:
    """`progress` with ``phase=...`` added, so one bar shows which stage is running."""
    return lambda step, total, **metrics: progress(step, total, phase=phase, **metrics)


def fit_directions(
    codes: torch.Tensor,
    labels: torch.Tensor,
    train: torch.Tensor,
    held_out: torch.Tensor,
    C: float,
    progress: Progress = no_progress,
) -> tuple[torch.Tensor, list[float]]:
    """Unit normals ``[K, dim]`` of one linear SVM per attribute (fitted on the `train` rows)
    and their accuracies on the `held_out` rows.

    The codes are divided by their overall standard deviation first: a global scale leaves the
    hyperplanes' geometry alone but makes C mean the same whatever the scale of the space.
    """
    import torch
    from sklearn.svm import LinearSVC

    flat = (codes / codes.std()).double().numpy()
    normals, accuracies = [], []
    for index in range(labels.shape[1]):
        target = labels[:, index].numpy()
        svm = LinearSVC(C=C, dual=False, max_iter=5000).fit(flat[train.numpy()], target[train.numpy()])
        accuracies.append(float(svm.score(flat[held_out.numpy()], target[held_out.numpy()])))
        normal = torch.tensor(svm.coef_[0], dtype=torch.float32)
        normals.append(normal / normal.norm())
        progress(index + 1, labels.shape[1])
    return torch.stack(normals), accuracies


def map_codes(flow: RealNVP, codes: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """T(w) for many flat codes, in batches, without gradients."""
    import torch

    with torch.no_grad():
        return torch.cat([flow(part) for part in codes.split(batch)])


def train_flow(
    codes: torch.Tensor,
    labels: torch.Tensor,
    held_out: tuple[torch.Tensor, torch.Tensor],
    options: Any,
    seed: int,
    progress: Progress,
) -> tuple[RealNVP, torch.nn.Linear, dict[str, float]]:
    """Pre-train and freeze the W+ classifiers, then train T on ``L_a + λ_lm L_lm + λ_ap L_ap``.

    Each step draws a batch and one attribute j (the paper's per-batch choice for Eq. 3); the
    L_ap edit moves every T(w) across hyperplane j by `ap_strength` standard deviations of the
    codes' distances to it, re-measured every few hundred steps as T changes the geometry (the
    held-out accuracy of the classifiers in W* is measured at the same time, for the progress bar).
    """
    import torch

    from latentedit.methods.wstar_flow import RealNVP
    from latentedit.methods.wstar_losses import Weights, pretrain_classifiers, training_step

    progress(0, options.steps, phase="classifiers")
    classifier = pretrain_classifiers(codes, labels, options.classifier_steps, options.classifier_lr)
    torch.manual_seed(seed)
    flow = RealNVP(codes.shape[1], options.hidden, options.couplings, options.negative_slope).train(True)
    optimizer = torch.optim.Adam(
        flow.parameters(), lr=options.lr, betas=(options.beta1, options.beta2), fused=codes.device.type == "cpu"
    )
    generator = torch.Generator().manual_seed(seed)
    weights = Weights(lm=options.lambda_lm, ap=options.lambda_ap)
    order = torch.randperm(len(codes), generator=generator)
    reference = codes[order[:EDIT_SCALE_CODES]]
    position, running, held_out_accuracy = 0, {}, 0.0
    for step in range(options.steps):
        if step % EDIT_SCALE_REFRESH == 0:
            spread = _distance_spread(flow, classifier, reference)
            held_out_accuracy = classifier_accuracy(classifier, map_codes(flow, held_out[0]), held_out[1])
        if position + options.batch > len(order):
            order, position = torch.randperm(len(codes), generator=generator), 0
        rows = order[position : position + options.batch]
        position += options.batch
        attribute = int(torch.randint(labels.shape[1], (1,), generator=generator))
        size = options.ap_strength * float(spread[attribute])
        metrics = training_step(flow, classifier, optimizer, codes[rows], labels[rows], attribute, size, weights)
        running = {key: 0.98 * running.get(key, value) + 0.02 * value for key, value in metrics.items()}
        progress(step + 1, options.steps, phase="train", **running, held_out_accuracy=held_out_accuracy)
    return flow.train(False), classifier, running


def classifier_accuracy(classifier: torch.nn.Linear, codes: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of (code, attribute) pairs the frozen classifiers get right."""
    import torch

    with torch.no_grad():
        return float(((classifier(codes) > 0) == (labels > 0.5)).float().mean())


def _distance_spread(flow: RealNVP, classifier: torch.nn.Linear, codes: torch.Tensor) -> torch.Tensor:
    """Standard deviation of the codes' signed distances to each hyperplane in W*: ``[K]``."""
    distances = classifier(map_codes(flow, codes)) / classifier.weight.norm(dim=1)
    return distances.std(dim=0)


class WStar(Method):
    name: ClassVar[str] = "wstar"
    summary: ClassVar[str] = "Normalizing flow W+ -> W* where attributes separate linearly; SVM directions in W*."
    space: ClassVar[str] = SPACE
    Options: ClassVar[type] = WStarOptions
    inputs: ClassVar[tuple[str, ...]] = ("attrs", "samples", "labels")
    apply_params: ClassVar[tuple[Param, ...]] = (
        Param(
            "attr",
            "W* edits: attribute to move, NAME[:STRENGTH] (repeatable: composes in W*).",
            multiple=True,
            metavar="NAME[:S]",
        ),
    )
    analyses: ClassVar[tuple[Analysis, ...]] = (
        Analysis(
            "separability",
            "Linear SVM accuracy and DCI per attribute (W* paper, Table 1).",
            run="latentedit.methods.wstar_metrics:separability_analysis",
            params=(Param("space", "With --separability: w+, wstar or both (default both).", metavar="SPACE"),),
        ),
    )

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        import torch

        from latentedit.api import Edit

        if request.labels is not None:
            data = table_samples(backend, request, progress)
        else:
            data = scored_samples(backend, request, request.samples or options.samples, progress)
        count, dim = data.ws.shape[0], data.ws.shape[1] * data.ws.shape[2]
        if count < 50:
            raise LatentEditError(f"W* needs at least 50 labelled codes; got {count}.")
        labels, label_report = binary_labels(
            data.scores, data.attributes, data.declared_binary, given_thresholds(options.thresholds)
        )
        codes = data.ws.reshape(count, dim).float()
        order = torch.randperm(count, generator=torch.Generator().manual_seed(request.seed))
        cut = max(1, int(count * options.validation))
        held_out, train = order[:cut], order[cut:]
        rates = labels[train].mean(dim=0)
        for name, rate in zip(data.attributes, rates.tolist(), strict=True):
            if rate in (0.0, 1.0):
                raise LatentEditError(f"Attribute {name!r}: the training codes hold one class only; raise --samples.")
        flow, classifier, losses = train_flow(
            codes[train], labels[train], (codes[held_out], labels[held_out]), options, request.seed, progress
        )
        mapped = map_codes(flow, codes)
        normals, svm_accuracy = fit_directions(mapped, labels, train, held_out, options.C, with_phase(progress, "svm"))
        tensors = flow.tensors()
        metrics: dict[str, Any] = {"losses": losses}
        with torch.no_grad():
            metrics["invertibility_max_error"] = float(
                (flow.inverse(mapped[held_out]) - codes[held_out]).norm(dim=1).max()
            )
            wplus_correct = (classifier(codes[held_out]) > 0) == (labels[held_out] > 0.5)
            wstar_correct = (classifier(mapped[held_out]) > 0) == (labels[held_out] > 0.5)
            for index, name in enumerate(data.attributes):
                unit = float((mapped @ normals[index]).std())
                moved = flow.inverse(mapped[held_out] + unit * normals[index]) - codes[held_out]
                tensors[DIRECTION + name] = normals[index]
                tensors[STRENGTH_UNIT + name] = torch.tensor(unit)
                metrics[name] = {
                    "classifier_accuracy_w+": float(wplus_correct[:, index].float().mean()),
                    "classifier_accuracy_w*": float(wstar_correct[:, index].float().mean()),
                    "svm_accuracy_w*": svm_accuracy[index],
                    "strength_unit": unit,
                    "w+_distance_per_strength": float(moved.norm(dim=1).mean()),
                    **label_report[name],
                }
        params = {
            **options_dict(options),
            "attributes": data.attributes,
            "flow": flow.config(),
            "num_ws": data.ws.shape[1],
            "w_dim": data.ws.shape[2],
        }
        return Edit(
            method=self.name,
            name=request.name,
            space=SPACE,
            attribute=",".join(data.attributes),
            tensors=tensors,
            backend=backend.fingerprint,
            backend_name=backend.name,
            params=params,
            metrics=metrics,
            provenance={**data.provenance, "attributes": data.attributes, "held_out": cut},
        )

    def apply(self, backend: Backend, ws: torch.Tensor, edit: Edit, strength: float, **inputs: Any) -> torch.Tensor:
        """``T^-1(T(w) + sum_k s_k · unit_k · d_k)``, computed in float64 so strength 0 gives back `ws`.

        ``attr=NAME`` moves one attribute by `strength`; ``attr=[(NAME, s), ...]`` moves several
        at once, each by ``s * strength`` (the CLI's ``["NAME:S", ...]`` strings are parsed the same
        way); without ``attr`` the file must hold one attribute.
        """
        import torch

        from latentedit.api import check_strength

        attr = inputs.get("attr")
        if isinstance(attr, list) and all(isinstance(item, str) for item in attr):
            attr = parse_attr_option(attr)
        plan = edit_plan(edit, attr, strength)
        flow = load_flow(edit, backend)
        if ws.dim() != 3 or ws.shape[1] * ws.shape[2] != flow.dim:
            raise IncompatibleEditError(
                f"Edit {edit.name!r} edits W+ codes of {flow.dim} values ([N, num_ws, w_dim]); got {tuple(ws.shape)}."
            )
        flow.to(ws.device, torch.float64)
        with torch.no_grad():
            mapped = flow(ws.reshape(ws.shape[0], -1).double())
            for name, amount in plan:
                check_strength(amount)
                step = float(edit.tensors[STRENGTH_UNIT + name]) * amount
                mapped = mapped + step * edit.tensors[DIRECTION + name].to(mapped)
            return flow.inverse(mapped).reshape(ws.shape).to(ws.dtype)


def edit_attributes(edit: Edit) -> list[str]:
    """The attributes a W* edit file holds, in discovery order."""
    return [key[len(DIRECTION) :] for key in edit.tensors if key.startswith(DIRECTION)]


def edit_plan(edit: Edit, attr: str | list[tuple[str, float]] | None, strength: float) -> list[tuple[str, float]]:
    """``[(attribute, strength)]`` for `apply`, checked against the file; one-line errors."""
    known = edit_attributes(edit)
    if attr is None or attr == "":
        if len(known) != 1:
            raise LatentEditError(
                f"Edit {edit.name!r} holds {len(known)} attributes ({', '.join(known)}); choose one with --attr NAME."
            )
        plan = [(known[0], strength)]
    elif isinstance(attr, str):
        plan = [(attr, strength)]
    else:
        plan = [(str(name), float(amount) * strength) for name, amount in attr]
    for name, _ in plan:
        if name not in known:
            raise IncompatibleEditError(f"Edit {edit.name!r} has no attribute {name!r}; it holds: {', '.join(known)}.")
    return plan


def load_flow(edit: Edit, backend: Backend) -> RealNVP:
    """The edit's flow, rebuilt from its params and ``flow.*`` tensors and checked against the backend."""
    from latentedit.methods.wstar_flow import RealNVP

    where = f"Edit {edit.name!r}"
    if edit.space != SPACE:
        raise IncompatibleEditError(f"{where} lives in {edit.space}, not W*: it was not made by wstar.")
    flow = RealNVP.from_tensors(edit.params.get("flow") or {}, edit.tensors, where)
    if flow.dim != backend.num_ws * backend.w_dim:
        raise IncompatibleEditError(
            f"{where} has a flow over {flow.dim} values; backend {backend.name} has W+ codes of "
            f"{backend.num_ws} x {backend.w_dim} = {backend.num_ws * backend.w_dim}."
        )
    for name in edit_attributes(edit):
        direction = edit.tensors[DIRECTION + name]
        if tuple(direction.shape) != (flow.dim,) or STRENGTH_UNIT + name not in edit.tensors:
            raise IncompatibleEditError(
                f"{where}: attribute {name!r} needs a direction of shape ({flow.dim},) and a strength unit."
            )
    return flow


def parse_attr_option(values: list[str]) -> str | list[tuple[str, float]] | None:
    """The CLI's repeatable ``--attr NAME[:STRENGTH]`` as `apply`'s ``attr``.

    One bare name selects that attribute (moved by ``--strength``); with several, or any
    ``:STRENGTH``, each is moved by its own strength (default 1) times ``--strength``.
    """
    if not values:
        return None
    if len(values) == 1 and ":" not in values[0]:
        return values[0]
    plan = []
    for value in values:
        name, sep, raw = value.rpartition(":") if ":" in value else (value, "", "1")
        try:
            plan.append((name, float(raw)))
        except ValueError:
            raise LatentEditError(f"--attr {value!r}: expected NAME or NAME:STRENGTH, e.g. smile:2.") from None
    return plan


def for_attribute(edit: Edit, attr: str) -> Edit:
    """A view of a W* edit that moves one attribute (for code that applies edits without ``attr``,
    such as the re-scoring matrix); it shares the flow tensors."""
    from dataclasses import replace

    edit_plan(edit, attr, 1.0)
    tensors = {
        key: value
        for key, value in edit.tensors.items()
        if not key.startswith((DIRECTION, STRENGTH_UNIT)) or key in (DIRECTION + attr, STRENGTH_UNIT + attr)
    }
    return replace(edit, name=f"{edit.name}:{attr}", attribute=attr, tensors=tensors)
