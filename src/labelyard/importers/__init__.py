"""Labels made in other tools, as labelyard job create bodies with pre-labels.

One module per format (``coco``, ``yolo``, ``voc``, ``cvat``, ``labelstudio``), each a pure
function from the files' contents (``{name: bytes}``) to ``Item``s: an image, where it is, and
its objects in labelyard's annotation layout (``core.annotations``: normalised to [0, 1], origin
top-left). ``bodies`` then maps class names (``--map old=new``), checks them against the
project's schema, rebases image locations (``--media-root`` / ``--media-url``) and gives the
create bodies (API.md 3.2), the objects as ``data.maker_response``.

A file that cannot be read raises ``FormatError`` naming the file and the line or element:
nothing is imported from a set of files until all of them are read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from labelyard.core import annotations as notes
from labelyard.core.model import Base
from labelyard.core.schema import LabelSchema
from labelyard.errors import InvalidInput

URL_SCHEMES = ("http", "https", "s3", "gs")


class FormatError(ValueError):
    """A file is not what its format says: ``where`` names the file and the line or path."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(slots=True)
class Item:
    """An image and its objects (``annotations``: labelyard's IMAGE layout)."""

    reference_id: str
    location: str  # a URL, or a path/file name to rebase
    annotations: dict[str, list[dict[str, Any]]] = field(default_factory=notes.empty_image)
    where: str = ""
    # A video (CVAT tracks): its frames' file names, and trackers instead of ``annotations``.
    frames: list[str] | None = None
    trackers: list[dict[str, Any]] = field(default_factory=list)
    # The image's pixel size when the file gives it (kept in the job's data for exports).
    size: tuple[int, int] | None = None


def entry_name(name: str) -> str:
    """The file name of ``name`` (``archive.zip!dir/file.txt`` is an entry of a zip)."""
    return name.rpartition("!")[2].rpartition("/")[2]


def clamp(value: float) -> float:
    """Within [0, 1] (tools let boxes stray a hair past the image's edge)."""
    return min(1.0, max(0.0, value))


def wrap(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Attributes ``{name: value}`` in labelyard's ``{name: {"value": ...}}`` form."""
    return {str(k): {"value": v} for k, v in values.items()}


def rectangle(
    object_id: str, label: str, box: Sequence[float], attributes: Mapping[str, Any] = {}
) -> dict[str, Any]:
    """A rectangle from a normalised box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = (clamp(v) for v in box)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    return {
        "_id": object_id,
        "label": label,
        "attributes": wrap(attributes),
        "coordinates": [
            {"x": x0, "y": y0},
            {"x": x1, "y": y0},
            {"x": x1, "y": y1},
            {"x": x0, "y": y1},
        ],
    }


def shape(
    object_id: str,
    label: str,
    points: Iterable[tuple[float, float]],
    attributes: Mapping[str, Any] = {},
    *,
    ring: bool = False,
) -> dict[str, Any]:
    """A polygon (``ring``: with edges closing it), line or landmark set from normalised
    points, named ``p1``, ``p2``... in order."""
    named = {f"p{i}": {"x": clamp(x), "y": clamp(y)} for i, (x, y) in enumerate(points, 1)}
    item: dict[str, Any] = {
        "_id": object_id,
        "label": label,
        "attributes": wrap(attributes),
        "points": named,
    }
    if ring:
        names = list(named)
        item["edges"] = {
            f"e{i}": [a, b]
            for i, (a, b) in enumerate(zip(names, names[1:] + names[:1], strict=True), 1)
        }
    return item


@dataclass(slots=True)
class Classes:
    """Class names: renamed by ``--map``, checked against the project's schema (None: any)."""

    renames: Mapping[str, str] = field(default_factory=dict)
    known: frozenset[str] | None = None
    unknown: Counter[str] = field(default_factory=Counter)

    def name(self, label: str) -> str:
        """``label`` renamed; an unknown one is counted."""
        renamed = self.renames.get(label, label)
        if self.known is not None and renamed not in self.known:
            self.unknown[renamed] += 1
        return renamed

    def allowed(self, label: str) -> bool:
        return self.known is None or label in self.known


def parse_renames(pairs: Iterable[str]) -> dict[str, str]:
    """``--map old=new`` options as a mapping; ``ValueError`` for one without ``=``."""
    renames = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise ValueError(f"--map takes old=new, not {pair!r}")
        renames[old] = new
    return renames


@dataclass(frozen=True, slots=True)
class Media:
    """Where images are: ``root`` is a prefix of the paths in the files (a local folder) that
    ``url`` serves; with ``url`` alone a file name is appended to it."""

    root: str = ""
    url: str = ""

    def locate(self, location: str, where: str) -> str:
        if self.url:
            rest = location
            if self.root and location.startswith(self.root):
                rest = location[len(self.root) :]
            elif _is_url(location) and not self.root:
                return location
            elif self.root:
                raise FormatError(where, f"{location!r} is not under --media-root {self.root!r}")
            return f"{self.url.rstrip('/')}/{rest.lstrip('/')}"
        if _is_url(location):
            return location
        raise FormatError(where, f"image {location!r} is not a URL; give --media-url")


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in URL_SCHEMES and bool(parts.netloc)


def bodies(
    items: Sequence[Item],
    *,
    classes: Classes,
    media: Media,
    partial: bool = False,
    schema: tuple[Base, LabelSchema] | None = None,
    completed: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The create bodies of ``items`` (objects as ``maker_response``) and what was dropped.

    Classes are renamed; with unknown classes (not in the project's schema) a ``FormatError``
    lists them, unless ``partial``: then their objects are dropped and reported. With the
    project's ``schema`` every job's pre-labels are checked as a submit would be (a job whose
    pre-labels do not fit would silently start empty): a ``FormatError`` names the first.
    """
    made: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if item.reference_id in seen:
            raise FormatError(item.where, f"image {item.reference_id!r} appears twice")
        seen.add(item.reference_id)
        groups = {"trackers": item.trackers} if item.frames is not None else item.annotations
        kept: dict[str, list[dict[str, Any]]] = {}
        for key, objects in groups.items():
            kept[key] = []
            if key == notes.MASKS:
                if not completed:
                    raise FormatError(item.where, "masks come in with --as-completed only")
                for mask in objects:
                    legend = {}
                    for colour, entry in mask["legend"].items():
                        label, sep, instance = entry.partition(" # ")
                        legend[colour] = classes.name(label) + sep + instance
                    kept[key].append({**mask, "legend": legend})
                continue
            for obj in objects:
                obj = {**obj, "label": classes.name(str(obj.get("label")))}
                if classes.allowed(obj["label"]):
                    kept[key].append(obj)
                else:
                    dropped.append(
                        {
                            "reference_id": item.reference_id,
                            "_id": obj["_id"],
                            "label": obj["label"],
                        }
                    )
        data: dict[str, Any]
        if item.frames is not None:
            frames = [
                {"frame_id": str(i), "src": media.locate(name, item.where)}
                for i, name in enumerate(item.frames)
            ]
            data = {"video_data": {"frames": frames}, "maker_response": kept["trackers"]}
        else:
            data = {"image_url": media.locate(item.location, item.where)}
            if item.size is not None:
                data["image_width"], data["image_height"] = item.size
            data["maker_response"] = kept
        made.append({"reference_id": item.reference_id, "data": data})
        if schema is not None and not (classes.unknown and not partial):
            base, label_schema = schema
            try:
                notes.validate(data["maker_response"], base=base, schema=label_schema, data=data)
            except InvalidInput as exc:
                raise FormatError(item.where, f"does not fit the project: {exc.message}") from None
    if classes.unknown and not partial:
        names = ", ".join(f"{n} ({c})" for n, c in sorted(classes.unknown.items()))
        raise FormatError(
            "classes", f"not in the project's schema: {names}; use --map or --partial"
        )
    return made, dropped
