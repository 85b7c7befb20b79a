"""What the mIoU tab does, without gradio: read mask pairs safely, score them, explain the difference
between data-set mIoU and the mean of per-image mIoUs, draw error maps and export the numbers.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from segdemo import serving
from segdemo.conventions import compare
from segdemo.errors import InputError
from segdemo.imageio import MAX_MASK_PIXELS, load_mask
from segdemo.lessons import segment
from segdemo.metrics import ConfusionMatrix, confusion_matrix, metrics_from_confusion
from segdemo.palette import SCENE_PALETTE, voc_palette
from segdemo.tempfiles import temp_dir

#: Limits of one request: a classroom's upload, not an archive bomb (each refusal names its rule).
MAX_MEMBERS = 2000  # entries in a zip
MAX_PAIRS = 1000  # mask pairs scored at once (files or zip)
MAX_UNCOMPRESSED = 200 * 2**20  # bytes really read: zip members once inflated, or uploaded files
MAX_MEMBER_BYTES = 8 * MAX_MASK_PIXELS + 4096  # one mask file: the largest mask as an int64 .npy
MAX_RATIO = 200  # a member may inflate to MAX_RATIO × its compressed size ...
RATIO_FREE = 4 * 2**20  # ... or to this many bytes, whichever is more (an all-zero .npy compresses ~1000×)
MAX_REQUEST_PIXELS = 120_000_000  # all masks held at once, 1 byte each (~320 VOC-sized pairs)
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
#: Classes scored at once: the UI's maximum; labels are 0..MAX_CLASSES-1 (255 is also the ignore label).
MAX_CLASSES = 256
GT_NAMES = ("gt", "truth", "ground_truth", "groundtruth", "labels", "label", "masks", "target", "targets")
PRED_NAMES = ("pred", "preds", "prediction", "predictions", "output", "outputs")
#: Error-map colours: correct background, correct object, false positive, false negative, wrong class, ignored.
COLORS = {"tn": (40, 40, 48), "tp": (60, 180, 90), "fp": (230, 70, 60), "fn": (60, 120, 230),
          "wrong": (245, 170, 40), "ignore": (200, 200, 200)}


@dataclass
class Pair:
    """One ground-truth/prediction pair."""

    name: str
    truth: np.ndarray  # (H, W) integer labels (uint8 from files; uint16 when a label exceeds 255)
    pred: np.ndarray  # (H, W) integer labels


def palette_by_name(name: str | None) -> np.ndarray | None:
    """``"voc"``, ``"scenes"`` or None/"none" → a ``(K, 3)`` palette for colour masks."""
    if name in (None, "", "none"):
        return None
    if name == "voc":
        return voc_palette()
    if name == "scenes":
        return np.asarray(SCENE_PALETTE, np.uint8)
    raise ValueError(f"unknown palette {name!r}; choose none, voc or scenes")


def _stem(path: str | PurePosixPath) -> str:
    return PurePosixPath(str(path)).stem


def pairs_from_files(truths: list[str], preds: list[str], palette: np.ndarray | None = None) -> list[Pair]:
    """Pair uploaded files by name (``a.png`` ↔ ``a.png`` or ``a.npy``).

    Raises:
        InputError: ``err.no_input`` (nothing uploaded), ``err.miou_unpaired`` (a name without partner),
            ``err.miou_too_many_files``, ``err.miou_request_bytes`` or ``err.miou_request_pixels`` (more than
            one request may hold), or any error of :func:`~segdemo.imageio.load_mask`.
    """
    if not truths or not preds:
        raise InputError("err.no_input", "Please provide an input first.")
    _check_count(len(truths) + len(preds))
    _check_bytes(sum(_size(p) for p in (*truths, *preds)))
    by_truth = {_stem(p): p for p in truths}
    by_pred = {_stem(p): p for p in preds}
    if len(truths) == 1 and len(preds) == 1:  # one pair: names need not match
        by_pred = {next(iter(by_truth)): preds[0]}
    _check_paired(set(by_truth), set(by_pred))
    budget = _PixelBudget()
    return [Pair(stem, budget.take(load_mask(by_truth[stem], palette=palette)),
                 budget.take(load_mask(by_pred[stem], palette=palette))) for stem in sorted(by_truth)]


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # load_mask names the missing file


def _check_count(files: int) -> None:
    if files > 2 * MAX_PAIRS:
        raise InputError("err.miou_too_many_files", "{count} mask files in one request; the limit is {limit} "
                         "({pairs} pairs). Score them in smaller batches.",
                         count=files, limit=2 * MAX_PAIRS, pairs=MAX_PAIRS)


def _check_bytes(total: int) -> None:
    if total > MAX_UNCOMPRESSED:
        raise InputError("err.miou_request_bytes", "These masks hold {size} MB; one request may hold {limit} MB. "
                         "Score them in smaller batches.", size=round(total / 2**20), limit=MAX_UNCOMPRESSED // 2**20)


class _PixelBudget:
    """Counts the mask pixels one request holds; refuses past :data:`MAX_REQUEST_PIXELS`."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, mask: np.ndarray) -> np.ndarray:
        self.used += mask.size
        if self.used > MAX_REQUEST_PIXELS:
            raise InputError("err.miou_request_pixels", "These masks hold more than {limit} megapixels in all; "
                             "score them in smaller batches.", limit=MAX_REQUEST_PIXELS // 1_000_000)
        return mask


def _check_paired(truths: set[str], preds: set[str]) -> None:
    lonely = sorted(truths ^ preds)
    if lonely:
        raise InputError("err.miou_unpaired", "{name} has no partner with the same name.", name=lonely[0])


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str, left: int) -> bytes:
    """A member's bytes through a bounded stream: at most the smallest of the per-file cap, what is left of
    the request's budget and the ratio cap, however large or small the zip claims the member is.

    Python's zipfile trusts declared sizes for bzip2 and lzma (it inflates a whole block at once), so only
    stored and deflate are read; deflate is inflated a bounded piece at a time.
    """
    if member.compress_type not in ZIP_METHODS:
        method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}.get(member.compress_type,
                                                                           f"method {member.compress_type}")
        raise InputError("err.miou_zip_method", "{name}: {member} is compressed with {method}; only stored and "
                         "deflate (what zip tools write by default) are accepted.",
                         name=name, member=member.filename, method=method)
    limits = {"member": MAX_MEMBER_BYTES, "total": left,
              "ratio": max(MAX_RATIO * member.compress_size, RATIO_FREE)}
    # an honest declared size over a limit names that limit; otherwise the smallest one stops the stream
    over = [rule for rule in limits if member.file_size > limits[rule]]
    rule = over[0] if over else min(limits, key=limits.get)
    limit = limits[rule]
    if not over:
        try:
            with archive.open(member) as stream:  # 1 MB at a time: a lying member costs 1 MB, not `limit`
                pieces, got = [], 0
                while got <= limit and (piece := stream.read(min(2**20, limit + 1 - got))):
                    pieces.append(piece)
                    got += len(piece)
                data = b"".join(pieces)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            # e.g. a declared size smaller than the data: the stream stops there and the CRC fails
            raise InputError("err.miou_zip_corrupt", "{name}: {member} is damaged or declares a wrong size "
                             "({detail}); refused.", name=name, member=member.filename, detail=str(exc)) from None
        if len(data) <= limit:
            return data
    if rule == "member":
        raise InputError("err.miou_zip_member_large", "{name}: {member} holds more than {limit} MB once "
                         "uncompressed; a mask file may hold {limit} MB.",
                         name=name, member=member.filename, limit=MAX_MEMBER_BYTES // 2**20)
    if rule == "ratio":
        raise InputError("err.miou_zip_ratio", "{name}: {member} expands more than {ratio}× when uncompressed "
                         "(a zip bomb?); refused.", name=name, member=member.filename, ratio=MAX_RATIO)
    raise InputError("err.miou_zip_large", "{name} is too large once uncompressed (limit {limit} MB, "
                     "{count} files).", name=name, limit=MAX_UNCOMPRESSED // 2**20, count=MAX_MEMBERS)


def pairs_from_zip(path: str, palette: np.ndarray | None = None) -> list[Pair]:
    """Read a zip of two folders (ground truth: ``gt/`` or ``truth/`` ...; predictions: ``pred/`` ...).

    Members are read in memory through a bounded stream, never extracted, and never trusted for their
    declared sizes. Refused, each with its own message: absolute or ``..`` paths, more than
    :data:`MAX_MEMBERS` entries or :data:`MAX_PAIRS` pairs, compression other than stored/deflate, a
    member over :data:`MAX_MEMBER_BYTES` or inflating more than :data:`MAX_RATIO`×, more than
    :data:`MAX_UNCOMPRESSED` bytes or :data:`MAX_REQUEST_PIXELS` mask pixels in all. ``.npy`` masks are
    read without pickle.
    """
    name = Path(path).name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise InputError("err.miou_bad_zip", "{name} is not a zip file that can be read.", name=name) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_MEMBERS:
            raise InputError("err.miou_zip_large", "{name} is too large once uncompressed (limit {limit} MB, "
                             "{count} files).", name=name, limit=MAX_UNCOMPRESSED // 2**20, count=MAX_MEMBERS)
        members = [m for m in entries if not m.is_dir()]
        for member in members:
            parts = PurePosixPath(member.filename.replace("\\", "/")).parts
            if member.filename.startswith(("/", "\\")) or ".." in parts or ":" in member.filename:
                raise InputError("err.miou_zip_unsafe", "{name} contains an unsafe path ({member}); refused.",
                                 name=name, member=member.filename)
        groups: dict[str, dict[str, zipfile.ZipInfo]] = {"gt": {}, "pred": {}}
        for member in members:
            parts = PurePosixPath(member.filename).parts
            if len(parts) < 2 or parts[-1].startswith(("._", ".")):
                continue
            folder = parts[-2].lower()
            kind = "gt" if folder in GT_NAMES else "pred" if folder in PRED_NAMES else None
            if kind:
                groups[kind][_stem(member.filename)] = member
        if not groups["gt"] or not groups["pred"]:
            raise InputError("err.miou_zip_folders", "{name} needs two folders, e.g. gt/ and pred/.", name=name)
        _check_count(len(groups["gt"]) + len(groups["pred"]))
        _check_paired(set(groups["gt"]), set(groups["pred"]))
        left = MAX_UNCOMPRESSED
        budget = _PixelBudget()

        def read(member: zipfile.ZipInfo) -> np.ndarray:
            nonlocal left
            data = _read_member(archive, member, name, left)
            left -= len(data)
            holder = io.BytesIO(data)
            holder.name = PurePosixPath(member.filename).name  # load_mask reads .npy by this name
            return budget.take(load_mask(holder, palette=palette))

        return [Pair(stem, read(groups["gt"][stem]), read(groups["pred"][stem])) for stem in sorted(groups["gt"])]


@dataclass
class Report:
    """Scores of a set of pairs."""

    num_classes: int
    names: list[str]
    confusion: np.ndarray
    metrics: dict[str, Any]
    per_image: list[dict[str, Any]]
    mean_of_images: float


def evaluate(pairs: list[Pair], num_classes: int | None = None, ignore_index: int | None = 255,
             names: list[str] | None = None) -> Report:
    """Data-set metrics from the summed confusion matrix, plus per-image rows and their mean mIoU.

    Args:
        pairs: the masks.
        num_classes: K; None or 0 detects it as 1 + the largest label (ignore index excluded).
        ignore_index: label left out of every count (None: none).
        names: optional class names (missing ones are numbered).
    """
    if not pairs:
        raise InputError("err.no_input", "Please provide an input first.")
    for pair in pairs:
        if pair.truth.shape != pair.pred.shape:
            raise InputError("err.shape_mismatch", "Prediction {pred} and ground truth {target} differ in size.",
                             pred=f"{pair.name} {pair.pred.shape[1]}×{pair.pred.shape[0]}",
                             target=f"{pair.truth.shape[1]}×{pair.truth.shape[0]}")
    if num_classes and not 1 <= int(num_classes) <= MAX_CLASSES:
        raise InputError("err.miou_classes_limit", "{k} classes: the number of classes must be 1 to {limit}.",
                         k=int(num_classes), limit=MAX_CLASSES)
    if not num_classes:
        # the largest label decides K: one stray pixel must not make a 3001×3001 matrix for everyone
        top, where = -1, ""
        for pair in pairs:
            for mask in (pair.truth, pair.pred):
                label = _top_label(mask, ignore_index)
                if label > top:
                    top, where = label, pair.name
        if top >= MAX_CLASSES:
            raise InputError("err.miou_too_many_classes", "{image} has the label {label}; at most {limit} classes "
                             "(labels 0 to {last}) are scored. Set the number of classes, or check that this "
                             "file is a label map.", image=where, label=top, limit=MAX_CLASSES, last=MAX_CLASSES - 1)
        num_classes = max(2, top + 1)
    total = ConfusionMatrix(num_classes, ignore_index)
    rows = []
    for pair in pairs:
        cm = total.update(pair.pred, pair.truth)
        m = metrics_from_confusion(cm)
        rows.append({"image": pair.name, "miou": m["miou"], "pixel_accuracy": m["pixel_accuracy"],
                     "pixels": int(cm.sum())})
    metrics = total.compute()
    names = list(names or [])[:num_classes]
    names += [str(k) for k in range(len(names), num_classes)]
    per_image = [r["miou"] for r in rows if not np.isnan(r["miou"])]
    return Report(num_classes, names, total.matrix.copy(), metrics, rows,
                  float(np.mean(per_image)) if per_image else float("nan"))


def _top_label(mask: np.ndarray, ignore_index: int | None) -> int:
    """The largest label of ``mask`` other than ``ignore_index`` (-1 if there is none), without an int64 copy."""
    if mask.size == 0:
        return -1
    top = int(mask.max())
    if ignore_index is None or top != ignore_index:
        return top
    rest = mask[mask != ignore_index]
    return int(rest.max()) if rest.size else -1


def error_map(pred: np.ndarray, truth: np.ndarray, ignore_index: int | None = 255) -> np.ndarray:
    """``(H, W, 3)`` uint8: TP green, FP red (object where there is none), FN blue (object missed),
    wrong class orange, correct background dark, ignored light grey."""
    out = np.empty(truth.shape + (3,), np.uint8)
    fg_t, fg_p = truth != 0, pred != 0
    out[...] = COLORS["tn"]
    out[fg_t & (pred == truth)] = COLORS["tp"]
    out[~fg_t & fg_p] = COLORS["fp"]
    out[fg_t & ~fg_p] = COLORS["fn"]
    out[fg_t & fg_p & (pred != truth)] = COLORS["wrong"]
    if ignore_index is not None:
        out[truth == ignore_index] = COLORS["ignore"]
    return out


def class_rows(report: Report) -> list[list[Any]]:
    """Per-class ``[id, name, IoU, Dice, precision, recall, GT pixels]`` (NaN → None)."""
    m = report.metrics
    gt_pixels = report.confusion.sum(axis=1)

    def num(x: float) -> float | None:
        return None if np.isnan(x) else round(float(x), 4)

    return [[k, report.names[k], num(m["iou"][k]), num(m["dice"][k]), num(m["precision"][k]),
             num(m["recall"][k]), int(gt_pixels[k])] for k in range(report.num_classes)]


def export(report: Report, folder: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``miou_per_class.csv`` and ``miou_report.json``; returns their paths."""
    out = Path(folder) if folder else temp_dir("miou-")
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "miou_per_class.csv", out / "miou_report.json"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class_id", "name", "iou", "dice", "precision", "recall", "gt_pixels"])
        writer.writerows(class_rows(report))
    m = report.metrics
    payload = {
        "num_classes": report.num_classes, "names": report.names,
        "miou": _f(m["miou"]), "mdice": _f(m["mdice"]), "fwiou": _f(m["fwiou"]),
        "pixel_accuracy": _f(m["pixel_accuracy"]), "mean_accuracy": _f(m["mean_accuracy"]),
        "mean_of_image_miou": _f(report.mean_of_images),
        "per_class_iou": [_f(v) for v in m["iou"]],
        "per_image": [{**r, "miou": _f(r["miou"]), "pixel_accuracy": _f(r["pixel_accuracy"])}
                      for r in report.per_image],
        "confusion_matrix": report.confusion.tolist(),
    }
    json_path.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return csv_path, json_path


def _f(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


# ---- how labels are read: 0/255 binary masks

#: Label of the foreground in a binary mask saved as an 8-bit image (also the default ignore label).
BINARY_FOREGROUND = 255


@dataclass
class Reading:
    """How a set of pairs is scored: the pairs (relabelled if needed), K, the ignore label, and a note.

    ``note`` is a string key for the page (None: nothing to say); ``binary``: 0/255 read as 0/1.
    """

    pairs: list[Pair]
    num_classes: int | None
    ignore_index: int | None
    binary: bool = False
    note: str | None = None


def is_binary_255(pairs: list[Pair]) -> bool:
    """Whether the whole set (truths and predictions) holds only 0 and 255, with 255 somewhere.

    Decided once per set, never per file: an all-foreground tile {255} belongs with its {0, 255} siblings.
    """
    values = np.unique(np.concatenate([np.unique(a) for p in pairs for a in (p.truth, p.pred)]))
    return BINARY_FOREGROUND in values and not np.setdiff1d(values, (0, BINARY_FOREGROUND)).size


def read_labels(pairs: list[Pair], num_classes: int | None, ignore_index: int | None,
                binary: bool = True) -> Reading:
    """Resolve the clash of 0/255 binary masks with the ignore label 255.

    In a 0/255 set with ignore label 255 (or none) and K automatic or 2, 255 is the foreground, not
    "unlabelled": with ``binary`` the masks are read as 0 = background, 1 = foreground, nothing ignored
    (note ``miou.binary_note``); without it 255 stays ignored and the note ``miou.binary_off_note`` says
    that every foreground pixel is left out. Other sets are returned as they are.
    """
    clash = (is_binary_255(pairs) and ignore_index in (BINARY_FOREGROUND, None) and num_classes in (None, 0, 2))
    if not clash:
        return Reading(pairs, num_classes, ignore_index)
    if not binary:
        return Reading(pairs, num_classes, ignore_index, note="miou.binary_off_note")
    relabelled = [Pair(p.name, (p.truth == BINARY_FOREGROUND).astype(np.int64),
                       (p.pred == BINARY_FOREGROUND).astype(np.int64)) for p in pairs]
    return Reading(relabelled, 2, None, binary=True, note="miou.binary_note")


def conventions(report: Report, confidence: float = 0.9, gamma: float = 2.0) -> list[list[Any]]:
    """``[quantity key, segdemo, torchmetrics, smp]`` rows for the report's confusion matrix (NaN → None);
    see :mod:`segdemo.conventions`."""
    return [[row.key, *(None if np.isnan(v) else round(float(v), 4) for v in row.values())]
            for row in compare(report.confusion, confidence=confidence, gamma=gamma)]


def pair_from_model(key: str, scene: int) -> Pair:
    """The ground truth of a synthetic scene and a shipped model's prediction of it."""

    image, truth = segment.scene(scene, serving.choice(key).size)  # at the size the model knows
    pred = segment.run(key, image).segmentation.labels
    return Pair(f"scene_{scene:04d}", truth, pred)


__all__ = ["Pair", "Reading", "Report", "class_rows", "confusion_matrix", "conventions", "error_map", "evaluate",
           "export", "is_binary_255", "pair_from_model", "pairs_from_files", "pairs_from_zip", "palette_by_name",
           "read_labels"]
