"""What a valid job create is (API.md 3.2), as a pure function of the request body."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from operator import sub
from typing import Any
from urllib.parse import urlsplit

import orjson

from labelyard.core import lifecycle
from labelyard.core.ids import parse_uuid
from labelyard.core.model import DEFAULT_PRIORITY, Base, JobType
from labelyard.core.urls import has_control_chars
from labelyard.errors import (
    InvalidInput,
    InvalidJobData,
    InvalidJobType,
    LabelyardError,
    MissingJobData,
    MissingReferenceId,
    UnknownWorkflow,
)

MAX_REFERENCE_ID_LENGTH = 255
MAX_NAME_LENGTH = 255
"""Names: accounts, projects, workers, batches, tags, usernames."""
MAX_TEXT_LENGTH = 10_000
"""Free text: batch and webhook descriptions, reviewers' comments, skip reasons."""
MAX_JSON_DEPTH = 64
"""How deep JSON objects and arrays may nest in a request body (or one item of a bulk create).
Deeper documents are refused where they are parsed: orjson reads 1024 levels but writes only
255, so a deeper value could be stored and then never be answered."""
IMAGE_URL_SCHEMES = frozenset({"http", "https", "s3", "gs"})


@dataclass(frozen=True, slots=True)
class WorkflowRef:
    """The part of a workflow a job create needs."""

    id: str
    tag: str


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A validated job create, ready to store once its batch is resolved."""

    reference_id: str
    data: dict[str, Any]
    workflow: WorkflowRef
    batch_id: str | None  # None: the project's default batch
    priority_weight: int
    type: str
    frames: int

    @property
    def gold(self) -> bool:
        """A gold job: ``type`` TEST with its answer in ``data.gold`` (a TEST job without an
        answer is ordinary work, as the hosted API's clients expect)."""
        return self.type == JobType.TEST.value and "gold" in self.data

    def payload_hash(self, batch_id: str) -> str:
        """Digest of everything that makes two creates "the same payload" (API.md 3.2)."""
        canonical = orjson.dumps(
            [self.data, self.workflow.id, batch_id, self.priority_weight, self.type],
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(canonical).hexdigest()


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_BRACKET_STEP = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def raw_json_deeper_than(raw: bytes, limit: int) -> bool:
    """True if the (valid) JSON document ``raw`` nests objects/arrays more than ``limit`` deep.

    Read from the bytes at C speed (strings removed, then brackets counted): no recursion.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw))
    # An opener counts +1 and a closer -1: depth after each bracket = 2 * openers so far - seen.
    steps = brackets.translate(_BRACKET_STEP)
    return max(map(sub, accumulate(steps), range(1, len(steps) + 1)), default=0) > limit


def json_deeper_than(value: Any, limit: int) -> bool:
    """True if the parsed JSON ``value`` nests objects/arrays more than ``limit`` deep (no
    recursion: one level at a time, stopping at the first level past the limit)."""
    if not isinstance(value, dict | list):
        return False
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    below.append(child)
        level = below
    return False


def require_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """``InvalidInput`` if ``value`` nests deeper than ``limit``."""
    if json_deeper_than(value, limit):
        raise InvalidInput(f"JSON nested deeper than {limit} levels")


def has_nul(value: Any) -> bool:
    """True if a NUL character is in any string (key or value) of a parsed JSON document."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def parse_job_create(body: object, *, base: Base, workflows: Mapping[str, WorkflowRef]) -> JobSpec:
    """Validate one job create body; ``workflows`` maps workflow ids and tags to workflows."""
    return JobSpec(*_job_fields(body, base, workflows))


@dataclass(slots=True)
class JobCreates:
    """Validated job creates column by column (``parse_job_creates``): one list per field of
    ``JobSpec``, and where each create was in the request (``at``). A bulk create keeps its
    10,000 creates this way instead of as 10,000 objects."""

    at: list[int] = field(default_factory=list)
    reference_ids: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    workflows: list[WorkflowRef] = field(default_factory=list)
    batch_ids: list[str | None] = field(default_factory=list)
    priorities: list[int] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, specs: Sequence[JobSpec]) -> JobCreates:
        """The creates of ``specs``, ``at`` their index."""
        return cls(
            at=list(range(len(specs))),
            reference_ids=[spec.reference_id for spec in specs],
            data=[spec.data for spec in specs],
            workflows=[spec.workflow for spec in specs],
            batch_ids=[spec.batch_id for spec in specs],
            priorities=[spec.priority_weight for spec in specs],
            types=[spec.type for spec in specs],
            frames=[spec.frames for spec in specs],
        )

    def __len__(self) -> int:
        return len(self.at)

    def golds(self) -> list[bool]:
        """``JobSpec.gold`` of each create."""
        test = JobType.TEST.value
        return [
            kind == test and "gold" in data
            for kind, data in zip(self.types, self.data, strict=True)
        ]

    def payload_hashes(self, batch_ids: Sequence[str]) -> list[str]:
        """``JobSpec.payload_hash`` of each create, with its resolved batch."""
        dumps, sort, sha256 = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.sha256
        return [
            sha256(dumps([data, workflow.id, batch_id, priority, kind], option=sort)).hexdigest()
            for data, workflow, batch_id, priority, kind in zip(
                self.data, self.workflows, batch_ids, self.priorities, self.types, strict=True
            )
        ]


def parse_job_creates(
    bodies: Sequence[object],
    *,
    base: Base,
    workflows: Mapping[str, WorkflowRef],
) -> tuple[JobCreates, dict[int, LabelyardError]]:
    """Validate many create bodies in one pass (``parse_job_create`` of each, without an object
    per create): the valid ones column by column, and the error of each invalid one by its
    index."""
    creates = JobCreates()
    errors: dict[int, LabelyardError] = {}
    at, references, data, flows = (
        creates.at,
        creates.reference_ids,
        creates.data,
        creates.workflows,
    )
    batches, priorities, types, frames = (
        creates.batch_ids,
        creates.priorities,
        creates.types,
        creates.frames,
    )
    for i, body in enumerate(bodies):
        try:
            fields = _job_fields(body, base, workflows)
        except LabelyardError as exc:
            errors[i] = exc
            continue
        at.append(i)
        references.append(fields[0])
        data.append(fields[1])
        flows.append(fields[2])
        batches.append(fields[3])
        priorities.append(fields[4])
        types.append(fields[5])
        frames.append(fields[6])
    return creates, errors


_NON_TEST, _TEST = JobType.NON_TEST.value, JobType.TEST.value


def _job_fields(
    body: object, base: Base, workflows: Mapping[str, WorkflowRef]
) -> tuple[str, dict[str, Any], WorkflowRef, str | None, int, str, int]:
    """The fields of ``JobSpec``, in order, for one valid create body."""
    if not isinstance(body, dict):
        raise InvalidInput("job must be a JSON object")
    require_depth(body)

    reference_id = body.get("reference_id")
    if reference_id is None or reference_id == "":
        raise MissingReferenceId()
    if not isinstance(reference_id, str):
        raise InvalidInput("reference_id must be a string")
    if len(reference_id) > MAX_REFERENCE_ID_LENGTH:
        raise InvalidInput(f"reference_id is longer than {MAX_REFERENCE_ID_LENGTH} characters")

    data = body.get("data")
    if data is None or data == {}:
        raise MissingJobData()
    if not isinstance(data, dict):
        raise InvalidInput("data must be a JSON object")

    workflow = _resolve_workflow(body, workflows)

    batch_id = body.get("batch_id")
    if batch_id is None or batch_id == "":
        batch_id = None
    else:
        batch_id = parse_uuid(batch_id)
        if batch_id is None:
            raise InvalidInput("batch_id must be a UUID")

    priority = body.get("priority_weight")
    priority = DEFAULT_PRIORITY if priority is None else lifecycle.priority(priority)

    job_type = body.get("type")
    if job_type is None:
        job_type = _NON_TEST
    elif job_type != _NON_TEST:
        if job_type != _TEST:
            raise InvalidJobType()
        if "gold" in data and not isinstance(data["gold"], dict | list):
            raise InvalidInput("data.gold, a gold job's answer, must be an annotations document")

    frames = validate_data(data, base)
    return reference_id, data, workflow, batch_id, priority, job_type, frames


def _resolve_workflow(body: dict[str, Any], workflows: Mapping[str, WorkflowRef]) -> WorkflowRef:
    for key in ("work_flow_id", "tag"):
        name = body.get(key)
        if name is None or name == "":
            continue
        if not isinstance(name, str):
            raise InvalidInput(f"{key} must be a string")
        found = workflows.get(name)
        if found is None:
            raise UnknownWorkflow(f"{key} {name!r} names no workflow of this project")
        return found
    raise UnknownWorkflow()


class _DataError(Exception):
    """A violation inside ``data``; becomes FS_0003 with the offending path."""


def validate_data(data: dict[str, Any], base: Base) -> int:
    """Check ``data`` against the project's base type; return the job's frame count."""
    try:
        # A SEGMENTATION job is an image, or a video (``video_data``) segmented frame by frame.
        video_segmentation = base is Base.SEGMENTATION and "video_data" in data
        if base in (Base.IMAGE, Base.SEGMENTATION) and not video_segmentation:
            _url(data.get("image_url"), "data.image_url", IMAGE_URL_SCHEMES)
            return 1
        if base is Base.VIDEO or video_segmentation:
            video = _obj(data.get("video_data"), "data.video_data")
            frames = _list(video.get("frames"), "data.video_data.frames")
            seen: set[str] = set()
            for i, frame in enumerate(frames):
                where = f"data.video_data.frames[{i}]"
                frame = _obj(frame, where)
                _unique_frame_id(frame, where, seen)
                _url(frame.get("src"), f"{where}.src")
            return len(frames)
        sensor_data = _obj(data.get("sensor_data"), "data.sensor_data")
        sensor_ids = _sensor_meta(sensor_data)
        if base is Base.SENSOR_FUSION:
            frames = _list(sensor_data.get("frames"), "data.sensor_data.frames")
            seen = set()
            for i, frame in enumerate(frames):
                where = f"data.sensor_data.frames[{i}]"
                frame = _obj(frame, where)
                _unique_frame_id(frame, where, seen)
                _sensors(frame.get("sensors"), f"{where}.sensors", sensor_ids)
                if frame.get("ego_pose") is not None:
                    _pose(frame["ego_pose"], f"{where}.ego_pose")
            return len(frames)
        # POINT_CLOUD_SEGMENTATION: one frame, sensors directly under sensor_data.
        if sensor_data.get("frames") is not None:
            raise _DataError("data.sensor_data.frames: not allowed for POINT_CLOUD_SEGMENTATION")
        _sensors(sensor_data.get("sensors"), "data.sensor_data.sensors", sensor_ids)
        return 1
    except _DataError as exc:
        raise InvalidJobData(f"job data is invalid for a {base.value} project: {exc}") from None


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _DataError(f"{where}: must be an object")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _DataError(f"{where}: must be a non-empty list")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _DataError(f"{where}: must be a non-empty string")
    return value


# The common form, accepted without urlsplit: a lower-case scheme of IMAGE_URL_SCHEMES and a
# plain host name (no port, user or brackets), then anything without spaces or control
# characters. Everything else takes the full check below.
_PLAIN_URL = re.compile(r"(?:https?|s3|gs)://[A-Za-z0-9._~-]+(?:[/?#][^\x00-\x20\x7f-\x9f]*)?")


def _url(value: object, where: str, schemes: frozenset[str] | None = None) -> None:
    text = _str(value, where)
    allowed = schemes or IMAGE_URL_SCHEMES
    if allowed is IMAGE_URL_SCHEMES and _PLAIN_URL.fullmatch(text):
        return
    if has_control_chars(text):  # urlsplit drops CR, LF and TAB silently; the stored URL would not
        raise _DataError(f"{where}: must not contain control characters (CR, LF, TAB...)")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        raise _DataError(f"{where}: must be a {'/'.join(sorted(allowed))} URL") from None
    if parts.scheme not in allowed or not parts.netloc:
        raise _DataError(f"{where}: must be a {'/'.join(sorted(allowed))} URL")


def _unique_frame_id(frame: dict[str, Any], where: str, seen: set[str]) -> None:
    frame_id = _str(frame.get("frame_id"), f"{where}.frame_id")
    if frame_id in seen:
        raise _DataError(f"{where}.frame_id: {frame_id!r} appears twice")
    seen.add(frame_id)


def _number(value: object, where: str) -> None:
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        raise _DataError(f"{where}: must be a number")


def _pose(value: object, where: str) -> None:
    pose = _obj(value, where)
    position = _obj(pose.get("position"), f"{where}.position")
    for axis in ("x", "y", "z"):
        _number(position.get(axis), f"{where}.position.{axis}")
    heading = _obj(pose.get("heading"), f"{where}.heading")
    for axis in ("w", "x", "y", "z"):
        _number(heading.get(axis), f"{where}.heading.{axis}")


def _sensor_meta(sensor_data: dict[str, Any]) -> set[str]:
    metas = _list(sensor_data.get("sensor_meta"), "data.sensor_data.sensor_meta")
    ids: set[str] = set()
    for i, meta in enumerate(metas):
        where = f"data.sensor_data.sensor_meta[{i}]"
        meta = _obj(meta, where)
        sensor_id = _str(meta.get("id"), f"{where}.id")
        if sensor_id in ids:
            raise _DataError(f"{where}.id: {sensor_id!r} appears twice")
        ids.add(sensor_id)
        _str(meta.get("name"), f"{where}.name")
        if meta.get("modality") not in ("lidar", "camera"):
            raise _DataError(f"{where}.modality: must be 'lidar' or 'camera'")
        if meta.get("intrinsics") is not None and not isinstance(meta["intrinsics"], dict):
            raise _DataError(f"{where}.intrinsics: must be an object")
        if meta.get("camera_model") is not None and not isinstance(meta["camera_model"], str):
            raise _DataError(f"{where}.camera_model: must be a string")
        if meta.get("primary_view") is not None and not isinstance(meta["primary_view"], bool):
            raise _DataError(f"{where}.primary_view: must be a boolean")
        if meta.get("state") is not None and not isinstance(meta["state"], str):
            raise _DataError(f"{where}.state: must be a string")
    return ids


def _sensors(value: object, where: str, sensor_ids: set[str]) -> None:
    for i, sensor in enumerate(_list(value, where)):
        at = f"{where}[{i}]"
        sensor = _obj(sensor, at)
        sensor_id = _str(sensor.get("sensor_id"), f"{at}.sensor_id")
        if sensor_id not in sensor_ids:
            raise _DataError(f"{at}.sensor_id: {sensor_id!r} is not in sensor_meta")
        _url(sensor.get("data_url"), f"{at}.data_url")
        if sensor.get("sensor_pose") is not None:
            _pose(sensor["sensor_pose"], f"{at}.sensor_pose")


def require_name(value: object, what: str = "name", *, max_length: int = MAX_NAME_LENGTH) -> str:
    """A non-blank string of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidInput(f"{what} must be a string of 1 to {max_length} characters")
    return value


def require_text(
    value: object, field: str, max_length: int = MAX_TEXT_LENGTH, *, required: bool = False
) -> str:
    """Free text (a description, a comment, a reason) of at most ``max_length`` characters;
    absent or null reads as empty unless ``required``."""
    if value is None or (required and value == ""):
        if required:
            raise InvalidInput(f"{field} is required")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    if len(value) > max_length:
        raise InvalidInput(f"{field} must have at most {max_length:,} characters")
    return value


def optional_text(value: object, what: str) -> str:
    """An optional string field of at most ``MAX_TEXT_LENGTH`` characters; absent reads as ""."""
    return require_text(value, what, MAX_TEXT_LENGTH)


def error_of(exc: LabelyardError) -> dict[str, str]:
    """The ``{"code", "message"}`` object of an error, as the envelope and bulk results show it."""
    return {"code": exc.code, "message": exc.message}
