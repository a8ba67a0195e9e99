"""What an export is asked for: its format, the job statuses and the batch it takes."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from labelyard.core import lifecycle
from labelyard.core.ids import require_uuid
from labelyard.core.model import Base, JobStatus
from labelyard.errors import InvalidInput, MissingParameter


class Format(enum.StrEnum):
    """The file formats an export can be written in."""

    NDJSON = "ndjson"
    COCO = "coco"
    YOLO = "yolo"
    VOC = "voc"
    KITTI3D = "kitti3d"

    @property
    def extension(self) -> str:
        """The file name extension of an export in this format (no dot)."""
        return _EXTENSIONS[self]

    @property
    def media_type(self) -> str:
        """The content type of an export in this format."""
        return _MEDIA_TYPES[self.extension]


_EXTENSIONS = {
    Format.NDJSON: "ndjson",
    Format.COCO: "json",
    Format.YOLO: "zip",
    Format.VOC: "zip",
    Format.KITTI3D: "zip",
}
_MEDIA_TYPES = {
    "ndjson": "application/x-ndjson",
    "json": "application/json",
    "zip": "application/zip",
}
EXTENSIONS = frozenset(_EXTENSIONS.values())
IMAGE_BASES = (Base.IMAGE, Base.SEGMENTATION)
LIDAR_BASES = (Base.SENSOR_FUSION, Base.POINT_CLOUD_SEGMENTATION)
DEFAULT_STATUSES = (JobStatus.COMPLETED.value,)


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """A validated export request."""

    format: Format
    statuses: tuple[str, ...]
    batch_id: str | None


def parse_format(value: object) -> Format:
    """A format from its name (case-insensitive)."""
    try:
        return Format(str(value).lower())
    except ValueError:
        names = ", ".join(f.value for f in Format)
        raise InvalidInput(f"format must be one of {names}") from None


def parse_request(body: object) -> ExportSpec:
    """The body of an export request: ``{"format", "status"? | "statuses"?, "batch_id"?}``."""
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object: {"format": "ndjson|coco|yolo|voc"}')
    statuses = body.get("status", body.get("statuses"))
    return parse_spec(format=body.get("format"), statuses=statuses, batch_id=body.get("batch_id"))


def parse_spec(*, format: object, statuses: object = None, batch_id: object = None) -> ExportSpec:
    """An export request from its parts; ``InvalidInput`` naming the first bad one."""
    if format is None or format == "":
        raise MissingParameter("format is required: one of " + ", ".join(f.value for f in Format))
    batch = None if batch_id is None or batch_id == "" else require_uuid(batch_id, "batch_id")
    return ExportSpec(
        format=parse_format(format),
        statuses=lifecycle.parse_statuses(statuses, default=DEFAULT_STATUSES),
        batch_id=batch,
    )


def check_base(fmt: Format, base: Base) -> None:
    """``InvalidInput`` unless ``fmt`` can express annotations of a ``base`` project."""
    if fmt is Format.KITTI3D:
        if base not in LIDAR_BASES:
            raise InvalidInput(
                "kitti3d exports are for SENSOR_FUSION and POINT_CLOUD_SEGMENTATION projects; "
                f"this project is {base.value}"
            )
        return
    if fmt is not Format.NDJSON and base not in IMAGE_BASES:
        raise InvalidInput(
            f"{fmt.value} exports are for IMAGE and SEGMENTATION projects; "
            f"this project is {base.value}: use ndjson"
        )
