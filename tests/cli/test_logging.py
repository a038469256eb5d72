"""Diagnostics: -vv never prints credentials; -v logs the AWS calls of every command."""

from __future__ import annotations

import logging
import subprocess
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.core.redact import MASK, RedactingFilter, redact
from tests.support.env import REGION, ecrscan_command
from tests.support.registry import FakeRegistry

TOKEN = "SUPERSECRETsessionTOKEN/with+base64=="
KEY_ID = "AKIAIOSFODNN7SECRETX"
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY"


@pytest.mark.slow
def test_vv_logs_requests_without_credentials(server_env: dict[str, str], moto_server: str) -> None:
    FakeRegistry(boto3.client("ecr", endpoint_url=moto_server, region_name=REGION)).create_repo(
        "team/api"
    )
    env = {
        **server_env,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": TOKEN,
    }
    done = subprocess.run(
        [ecrscan_command(), "-vv", "repos", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "team/api" in done.stdout
    # the request log is there ...
    assert "DescribeRepositories" in done.stderr
    assert "X-Amz-Security-Token" in done.stderr and "Credential=" in done.stderr
    assert f"X-Amz-Security-Token': b'{MASK}'" in done.stderr
    # ... the credentials are not, in any spelling
    for secret in (TOKEN, TOKEN[:16], KEY_ID, SECRET):
        assert secret not in done.stderr
    # -v alone: the call counts, no request log
    done = subprocess.run(
        [ecrscan_command(), "-v", "repos"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "AWS calls: DescribeRepositories 1 (1 in total)" in done.stderr
    assert "X-Amz-Security-Token" not in done.stderr


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            (
                f"headers={{'X-Amz-Date': b'20260101T000000Z', 'X-Amz-Security-Token': b'{TOKEN}', "
                f"'Authorization': b'AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/ecr/"
                "aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123'}"
            ),
            (TOKEN, KEY_ID, "0123456789abcdef0123"),
        ),
        (f"CanonicalRequest:\nPOST\n/\n\nhost:ecr\nx-amz-security-token:{TOKEN}\n\nhost", (TOKEN,)),
        (
            (
                f"url=https://x/?X-Amz-Credential={KEY_ID}%2F20260101&X-Amz-Security-Token={TOKEN}"
                "&X-Amz-Signature=abcdef0123456789abcdef"
            ),
            (TOKEN, KEY_ID, "abcdef0123456789abcdef"),
        ),
        (
            (
                f"Response body: b'<AssumeRoleResult><Credentials><AccessKeyId>ASIAXXXXXXXXXXXXXXXX"
                f"</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken>{TOKEN}"
                "</SessionToken></Credentials></AssumeRoleResult>'"
            ),
            ("ASIAXXXXXXXXXXXXXXXX", SECRET, TOKEN),
        ),
        (
            (
                f'Response body: b\'{{"roleCredentials":{{"accessKeyId":"ASIAYYYYYYYYYYYYYYYY",'
                f'"secretAccessKey":"{SECRET}","sessionToken":"{TOKEN}"}}}}\''
            ),
            ("ASIAYYYYYYYYYYYYYYYY", SECRET, TOKEN),
        ),
        (
            (
                f"aws_access_key_id = {KEY_ID}\naws_secret_access_key={SECRET}\n"
                f"aws_session_token: {TOKEN}"
            ),
            (KEY_ID, SECRET, TOKEN),
        ),
        (f"{{'aws_session_token': '{TOKEN}', 'SessionToken': '{TOKEN}'}}", (TOKEN,)),
    ],
    ids=["headers", "canonical-request", "presigned-url", "sts-xml", "sso-json", "config", "dict"],
)
def test_redact(text: str, secret: tuple[str, ...]) -> None:
    cleaned = redact(text)
    for value in secret:
        assert value not in cleaned
    assert MASK in cleaned


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "Sending http request: POST https://api.ecr.us-east-1.amazonaws.com/ DescribeImages"
    assert redact(text) == text


def test_filter_formats_the_record_then_redacts() -> None:
    """The secret is in the arguments, split from its name by the template, and in
    the traceback: all of it is redacted, and the record is kept."""
    try:
        raise RuntimeError(f"X-Amz-Security-Token={TOKEN}")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "botocore.endpoint",
        logging.DEBUG,
        __file__,
        1,
        "headers: %s",
        ({"X-Amz-Security-Token": TOKEN.encode()},),
        exc_info,
    )
    assert RedactingFilter().filter(record) is True
    formatted = logging.Formatter("%(message)s").format(record)
    assert TOKEN not in formatted and MASK in formatted
    assert "RuntimeError" in formatted


def invoke(args: list[str], app: AppContext | None = None) -> Any:
    return CliRunner().invoke(cli, args, obj=app or AppContext(), catch_exceptions=False)


def test_v_logs_the_aws_calls_of_repos_and_report_image(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    registry.push("app", "v1")
    result = invoke(["-v", "repos"])
    assert result.exit_code == 0
    assert "ecrscan: AWS calls: DescribeRepositories 1 (1 in total)" in result.stderr
    result = invoke(["-v", "report", "--image", "app:v1"])
    assert (
        "ecrscan: AWS calls: DescribeImageScanFindings 1, DescribeImages 1 (2 in total)"
        in result.stderr
    )
    result = invoke(["-v", "report"])  # a registry report: the calls of its target
    (line,) = [line for line in result.stderr.splitlines() if "AWS calls" in line]
    assert line.startswith("ecrscan: AWS calls: ") and "DescribeRepositories 1, " in line
    assert line.endswith(" in total)") and "_" not in line and "{" not in line
    assert "AWS calls" not in invoke(["repos"]).stderr  # only with -v


def test_logging_is_undone_after_the_command() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    invoke(["-vv", "--version"])
    invoke(["-vv", "repos", "--filter", "("])
    assert root.handlers == before
    assert logging.getLogger("botocore").level == logging.NOTSET
