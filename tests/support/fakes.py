"""Small fakes shared by the unit tests: time that only moves when slept, and a boto3
session that hands out real (stubbable) clients and remembers them."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.session

from ecrscan.aws.throttle import Throttle


class FakeTime:
    """A clock that only moves when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def fake_throttle(fake: FakeTime, rng: float = 0.5, **kwargs: Any) -> Throttle:
    return Throttle(sleep=fake.sleep, clock=fake.clock, rng=lambda: rng, **kwargs)


_SESSIONS: dict[str, Any] = {}
_LOADER: list[Any] = []


def fresh_session(region: str | None = "us-east-1", profile: str | None = None) -> boto3.Session:
    """A new boto3 session (its own event hooks and credential chain) sharing one model
    loader, so tests do not pay for loading the ECR model again and again."""
    core = botocore.session.Session()
    if not _LOADER:
        _LOADER.append(core.get_component("data_loader"))
    core.register_component("data_loader", _LOADER[0])
    return boto3.Session(botocore_session=core, region_name=region, profile_name=profile)


def _shared_session(region: str) -> Any:
    """One boto3 session per region for the whole test run: loading the service model
    once keeps Stubber tests fast."""
    if region not in _SESSIONS:
        _SESSIONS[region] = boto3.Session(
            region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
    return _SESSIONS[region]


class RecordingSession:
    """Creates real ECR clients (no network until called) and keeps them for Stubbers."""

    def __init__(self, region: str = "us-east-1") -> None:
        self._session = _shared_session(region)
        self.clients: list[Any] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        client = self._session.client(service, **kwargs)
        self.clients.append(client)
        return client


def quick_registry(region: str = "us-east-1") -> Any:
    """A FakeRegistry on a session sharing the model loader (call inside ``mock_aws``);
    conftest's ``registry`` builds a default boto3 session, which reloads every model."""
    from tests.support.registry import FakeRegistry

    return FakeRegistry(fresh_session(region).client("ecr"), region)


def assumed_session(role_arn: str, region: str = "us-east-1") -> boto3.Session:
    """A session with the role's credentials (call inside ``mock_aws``): moto gives its
    calls to the role's account, so each account has its own registries."""
    credentials = (
        fresh_session(region)
        .client("sts")
        .assume_role(RoleArn=role_arn, RoleSessionName="test-setup")["Credentials"]
    )
    core = fresh_session(region)._session  # shares the loaded service models
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
        botocore_session=core,
    )
