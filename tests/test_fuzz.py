"""Fuzzing: schemathesis against /openapi.json, and malformed job data of every base type.

Bounded (a fixed number of examples per operation) so it fits in CI. Every response must be a
non-5xx that matches its documented status codes, content type and schema; requests carry a
real project's key and ids part of the time, so the checks reach past authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ProjectHandle, Server

EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations(server: Server) -> list[Any]:
    with server.client() as client:
        document = client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_operation_answers_5xx_or_off_its_schema(
    server: Server, new_project: Callable[..., ProjectHandle]
) -> None:
    project = new_project()
    real = {
        "project_id": project.project_id,
        "batch_id": project.default_batch_id,
        "account_id": project.account_id,
    }
    headers = {
        "x-api-key": project.api_key,
        "authorization": f"Bearer {server.settings.admin_token}",
    }
    operations = _operations(server)
    assert len(operations) > 30
    for operation in operations:
        if operation.path == "/metrics":
            continue  # Prometheus text, not JSON

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy(), use_real_ids=st.booleans())
        def run(case: Any, use_real_ids: bool) -> None:
            if use_real_ids and case.path_parameters:
                for name, value in real.items():
                    if name in case.path_parameters:
                        case.path_parameters[name] = value
            response = case.call(base_url=server.base_url, headers=headers)
            case.validate_response(response, checks=CHECKS)

        run()


BASES = ["IMAGE", "SEGMENTATION", "VIDEO", "SENSOR_FUSION", "POINT_CLOUD_SEGMENTATION"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
# Job data shaped like each base type's, but wrong in random places.
malformed = st.one_of(
    json_values,
    st.fixed_dictionaries({"image_url": json_values}),
    st.fixed_dictionaries({"video_data": st.fixed_dictionaries({"frames": json_values})}),
    st.fixed_dictionaries(
        {
            "video_data": st.fixed_dictionaries(
                {
                    "frames": st.lists(
                        st.fixed_dictionaries({"frame_id": json_values, "src": json_values}),
                        max_size=3,
                    )
                }
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "sensor_data": st.fixed_dictionaries(
                {"frames": json_values, "sensor_meta": json_values, "sensors": json_values}
            )
        }
    ),
)


@pytest.mark.parametrize("base", BASES)
def test_malformed_job_data_is_refused_and_nothing_is_stored(
    new_project: Callable[..., ProjectHandle], base: str
) -> None:
    p = new_project(base)
    counter = iter(range(10**6))

    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(data=malformed)
    def run(data: Any) -> None:
        n = next(counter)
        single = p.api.post(f"/v1/projects/{p.project_id}/jobs", json=p.job(f"s{n}", data=data))
        bulk = p.api.post(
            f"/v1/projects/{p.project_id}/jobs/bulk",
            json={"jobs": [p.job(f"b{n}", data=data), p.job(f"ok{n}", data={})]},
        )
        assert single.status_code in (200, 400), single.text
        assert bulk.status_code == 200, bulk.text
        results = bulk.json()["data"]["results"]
        assert results[1]["error"]["code"] == "FS_0004"
        created_single = single.status_code == 200
        created_bulk = results[0].get("created") is True
        assert created_single == created_bulk  # the same rules on both paths
        for ref, created in ((f"s{n}", created_single), (f"b{n}", created_bulk)):
            found = p.api.get(f"/v1/projects/{p.project_id}/jobs", params={"reference_id": ref})
            assert found.status_code == (200 if created else 404), (ref, found.text)

    run()
    stats = p.api.get(f"/v1/projects/{p.project_id}/stats").json()["data"]
    batch = p.api.get(
        f"/v1/projects/{p.project_id}/batch/{p.default_batch_id}", params={"limit": 1000}
    ).json()["data"]
    assert stats["total_jobs"] == len(batch["jobs"])
