from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.registry import FakeRegistry

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region; nothing from the developer's own AWS set-up."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("ECRSCAN_") or name in (
            "REPOSITORIES_FILTER_REGEXP", "ECR_IMAGES_DURATION_DELTA",
            "CRITICAL", "HIGH", "MEDIUM", "LOW", "ECR_SNS_REPORT_TOPIC_ARN",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def mocked() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    return FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
