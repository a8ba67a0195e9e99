"""A real S3-compatible server for tests: moto in server mode, over HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

from tests.conftest import free_port


@dataclass(frozen=True)
class S3Endpoint:
    """Where the test S3 server listens, and a bucket made on it."""

    endpoint_url: str
    bucket: str
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"


@contextmanager
def s3_server(bucket: str = "labelyard-test") -> Iterator[S3Endpoint]:
    """Start moto's S3 server on a free loopback port with one empty bucket."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = S3Endpoint(endpoint_url=f"http://127.0.0.1:{port}", bucket=bucket)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint.endpoint_url,
            region_name=endpoint.region,
            aws_access_key_id=endpoint.access_key_id,
            aws_secret_access_key=endpoint.secret_access_key,
        )
        client.create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()
