from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.support.env import REGION
from tests.support.inspector_fake import FakeInspector
from tests.support.registry import FakeRegistry


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials and a region; nothing from the developer's own AWS set-up, and
    a scan-date cache of the test's own (never the developer's ~/.cache)."""
    for name in list(os.environ):
        if (
            name.startswith("AWS_")
            or name.startswith("ECRSCAN_")
            or name
            in (
                "REPOSITORIES_FILTER_REGEXP",
                "ECR_IMAGES_DURATION_DELTA",
                "CRITICAL",
                "HIGH",
                "MEDIUM",
                "LOW",
                "ECR_SNS_REPORT_TOPIC_ARN",
                "NOTIFY_ON",
                "NOTIFY_STATE_TABLE",
                "NOTIFY_STATE_TTL",
                "NOTIFY_ON_SCAN_FAILURE",
            )
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(autouse=True)
def inspector() -> Iterator[FakeInspector]:
    """Amazon Inspector's bulk reads (moto has none), answered from moto's ECR images;
    tests change its ``deny`` or ``omit_clean`` to vary it."""
    fake = FakeInspector()
    with fake.installed():
        yield fake


@pytest.fixture
def mocked() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    return FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server in this process (so tests can also reach its backends directly);
    yields its endpoint URL.  Use ``server_env`` to run the installed command against it."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def server_env(moto_server: str, tmp_path) -> Iterator[dict[str, str]]:
    """A clean moto state and the environment for a subprocess talking to the server."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=moto_server,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        HOME=str(tmp_path),
    )
    yield env
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))


@pytest.fixture
def server_registry(server_env: dict[str, str], moto_server: str) -> FakeRegistry:
    """A registry on moto's server, in the clean state of ``server_env``: what the
    installed command, run with ``server_env``, sees."""
    client = boto3.client(
        "ecr",
        region_name=REGION,
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return FakeRegistry(client, REGION)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
