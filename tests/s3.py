"""An S3 stand-in for the tests: moto's server on 127.0.0.1, with its IAM checks on, so that
wrong credentials are refused as a real object store would refuse them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
import pytest

from etl.fakeswr import FakeSwr
from tests.configs import editing, write_config

# moto answers this many requests without checking credentials: those that create the
# test's user, its policy and its key.
UNCHECKED_REQUESTS = 3
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    url: str
    access_key: str
    secret_key: str

    def client(self) -> object:
        """A boto3 S3 client with the server's credentials (for the test's own checks)."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under `prefix`, sorted; not the empty `folder/` markers pyarrow
        leaves where it deleted, which hold nothing of the lake."""
        found: list[str] = []
        pages = self.client().get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            found += [i["Key"] for i in page.get("Contents", []) if not i["Key"].endswith("/")]
        return sorted(found)

    def output(self, bucket: str, prefix: str = "lake", **extra: object) -> dict[str, object]:
        """The `output` keys of a config whose lake is s3://bucket/prefix on this server."""
        return {
            "lake": f"s3://{bucket}/{prefix}",
            "s3": {
                "endpoint_url": self.url,
                "region": REGION,
                "access_key": "${OBS_AK}",
                "secret_key": "${OBS_SK}",
                "addressing": "path",
            },
            "duckdb": "./swr.duckdb",
            **extra,
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def started_moto(tries: int = 5) -> tuple[subprocess.Popen[bytes], int]:
    """Start moto's server on a free port; return it once it answers there. A port found
    free may be taken by another test process before moto binds it: moto then exits, and
    another port is tried."""
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(UNCHECKED_REQUESTS)}
    for _ in range(tries):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if answering(process, port):
            return process, port
        process.terminate()
        process.wait(timeout=10)
    raise RuntimeError(f"moto's server did not start in {tries} tries")


def answering(process: subprocess.Popen[bytes], port: int) -> bool:
    """Return True once `process` answers on `port` and still runs (not another process that
    holds the port while moto, unable to bind it, exits)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
        except OSError:
            time.sleep(0.05)
            continue
        time.sleep(0.2)  # a moto that could not bind has exited by now
        return process.poll() is None
    return False


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """Run moto's S3 server in its own process on 127.0.0.1; yield it with a user's keys."""
    process, port = started_moto()
    try:
        url = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=url,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
            region_name=REGION,
        )
        iam.create_user(UserName="etl")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(UserName="etl", PolicyName="lake", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="etl")["AccessKey"]
        yield S3Server(url, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        process.terminate()
        process.wait(timeout=10)


class S3Config(Protocol):
    """The `s3_config` fixture: `s3_config` bound to the running test's environment."""

    def __call__(
        self,
        directory: Path,
        served: FakeSwr,
        repositories: list[tuple[str, str]],
        s3: S3Server,
        bucket: str,
        endpoint: str = "local",
        **output: Any,
    ) -> Path: ...


def s3_config(
    directory: Path,
    served: FakeSwr,
    repositories: list[tuple[str, str]],
    s3: S3Server,
    bucket: str,
    endpoint: str = "local",
    *,
    env: pytest.MonkeyPatch,
    **output: Any,
) -> Path:
    """A config that syncs `repositories` into s3://bucket/lake; keys from the environment,
    set through `env`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(directory, served, repositories, env=env)
    with editing(path) as data:
        data["endpoints"][0]["name"] = endpoint
        data["output"] = s3.output(bucket, **output)
    env.setenv("OBS_AK", s3.access_key)
    env.setenv("OBS_SK", s3.secret_key)
    return path
