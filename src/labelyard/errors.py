"""The one error tree of labelyard; each class is one row of API.md's error table.

    LabelyardError                      (code, HTTP status, message)
    ├── AuthFailure                     401 auth-failure          missing, unknown or revoked key
    ├── Unauthorized                    403 unauthorized          project of another account
    │   └── Forbidden                   403 unauthorized          role or link not allowed
    ├── NotFound                        404 resource_error        well-formed id not in the project
    ├── InvalidInput                    400 GE_0001               not JSON, wrong type, bad UUID
    │   └── BodyTooLarge                413 GE_0001               body over the configured limit
    ├── MissingParameter                400 GE_0002               required parameter missing
    ├── DuplicateReferenceId            400 FS_0001               same reference_id, other payload
    ├── MissingReferenceId              400 FS_0002               reference_id missing or empty
    ├── InvalidJobData                  400 FS_0003               data invalid for the base type
    ├── MissingJobData                  400 FS_0004               data missing or {}
    ├── UnknownWorkflow                 400 FS_0005               no usable work_flow_id / tag
    ├── InvalidJobType                  400 FS_00011              type not TEST / NON_TEST
    ├── InvalidPriority                 400 FS_00012              priority_weight not an int 1..10
    ├── DuplicateBatchName              400 BATCH_CREATION        batch name already used
    ├── Conflict                        409 conflict              lease lost, job in wrong state
    │   └── NoStorageConnection         409 conflict              no storage connection for a URL
    ├── InvalidPageToken                400 invalid_request_error malformed or foreign page token
    ├── InvalidPointCloud               400 FS_0007               a point cloud cannot be read
    ├── RateLimited                     429 rate_limited          too many requests
    └── ServerFault                     500 api_error             anything unexpected

Only the standard library is imported here, so every layer may raise these.
"""

from __future__ import annotations


class LabelyardError(Exception):
    """Base of every error labelyard reports to a client."""

    code = "api_error"
    status = 500
    default_message = "internal server error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class AuthFailure(LabelyardError):
    """The request carries no key, or an unknown or revoked one."""

    code, status, default_message = "auth-failure", 401, "missing or invalid API key"


class Unauthorized(LabelyardError):
    """The key is valid but may not act on this project."""

    code, status, default_message = "unauthorized", 403, "this key may not access this project"


class Forbidden(Unauthorized):
    """The caller is known but this action is not theirs to take."""

    default_message = "not allowed"


class NotFound(LabelyardError):
    """A well-formed id names nothing in this project."""

    code, status, default_message = "resource_error", 404, "resource not found"


class InvalidInput(LabelyardError):
    """The body is not JSON, a value has the wrong type, or an id is not a UUID."""

    code, status, default_message = "GE_0001", 400, "invalid request"


class BodyTooLarge(InvalidInput):
    """The request body is larger than the configured limit."""

    status, default_message = 413, "request body too large"


class MissingParameter(LabelyardError):
    """A required parameter is missing."""

    code, status, default_message = "GE_0002", 400, "required parameter missing"


class DuplicateReferenceId(LabelyardError):
    """A job with this reference_id exists with a different payload."""

    code, status = "FS_0001", 400
    default_message = "a job with this reference_id already exists with a different payload"


class MissingReferenceId(LabelyardError):
    """reference_id is missing or empty."""

    code, status, default_message = "FS_0002", 400, "reference_id is required"


class InvalidJobData(LabelyardError):
    """The job's data does not fit the project's base type."""

    code, status, default_message = "FS_0003", 400, "job data is invalid for this project"


class MissingJobData(LabelyardError):
    """The job's data is missing or empty."""

    code, status, default_message = "FS_0004", 400, "job data is required"


class UnknownWorkflow(LabelyardError):
    """Neither work_flow_id nor tag is given, or it names no workflow of the project."""

    code, status, default_message = "FS_0005", 400, "work_flow_id or tag must name a workflow"


class InvalidJobType(LabelyardError):
    """The job type is not TEST or NON_TEST."""

    code, status, default_message = "FS_00011", 400, "type must be TEST or NON_TEST"


class InvalidPriority(LabelyardError):
    """priority_weight is not an integer from 1 to 10."""

    code, status, default_message = "FS_00012", 400, "priority_weight must be an integer 1..10"


class DuplicateBatchName(LabelyardError):
    """A batch of this name already exists in the project."""

    code, status, default_message = "BATCH_CREATION", 400, "a batch with this name already exists"


class Conflict(LabelyardError):
    """The job is not in a state where this action applies (a lost lease, a finished job)."""

    code, status, default_message = "conflict", 409, "the job is not in a state for this"


class NoStorageConnection(Conflict):
    """No storage connection of the account serves this ``s3://`` / ``gs://`` URL."""

    default_message = "no storage connection of this account serves this URL"


class InvalidPageToken(LabelyardError):
    """The page token is malformed or was issued for another batch or query."""

    code, status, default_message = "invalid_request_error", 400, "invalid page_token"


class InvalidPointCloud(LabelyardError):
    """A lidar file is not a readable PCD or KITTI .bin (the message says what is wrong)."""

    code, status, default_message = "FS_0007", 400, "the point cloud cannot be read"


class RateLimited(LabelyardError):
    """The key has sent too many requests; retry after ``retry_after`` seconds."""

    code, status, default_message = "rate_limited", 429, "rate limit exceeded"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ServerFault(LabelyardError):
    """Something unexpected happened; details go to the log, never to the client."""
