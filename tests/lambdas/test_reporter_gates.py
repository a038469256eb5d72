"""The gates on what matters in the reporter function: with ``ECRSCAN_FAIL_ON_KEV``,
``ECRSCAN_MIN_EPSS`` or ``ECRSCAN_EXPLOITABLE`` it reads the image's findings and
judges them (the message names the rule); without, it reads nothing more than before;
a catalogue that cannot be used is a configuration error before any AWS call."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecrscan.aws.sns import SnsTopic
from ecrscan.lambdas import gates, reporter, runtime
from tests.support.cli_report import image
from tests.support.env import REGION
from tests.support.events import ECR_SAMPLE, INSPECTOR_SAMPLE, variant
from tests.support.lambda_events import CountingSession, FakeContext
from tests.support.registry import FakeRegistry
from tests.support.sqs import drain
from tests.support.state_table import create_state_table

KEV_JSON = {
    "vulnerabilities": [
        {"cveID": "CVE-2025-0002", "dateAdded": "2026-11-20", "dueDate": "2026-12-11"},
    ],
}
KEV_REASON = "KEV: CVE-2025-0002, due 2026-12-11"
HIGH_KEV = {
    "name": "CVE-2025-0002",
    "severity": "HIGH",
    "attributes": [{"key": "package_name", "value": "openssl"}],
}
ENHANCED: dict[str, Any] = {
    "awsAccountId": "123456789012",
    "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/abc123",
    "severity": "HIGH",
    "title": "CVE-2023-29491 - ncurses",
    "status": "ACTIVE",
    "type": "PACKAGE_VULNERABILITY",
    "exploitAvailable": "NO",
    "packageVulnerabilityDetails": {
        "vulnerabilityId": "CVE-2023-29491",
        "source": "NVD",
        "vulnerablePackages": [{"name": "ncurses", "version": "6.2", "packageManager": "OS"}],
    },
}
VARIABLES = (
    *gates.GATE_VARIABLES,
    *gates.FILE_VARIABLES,
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "NOTIFY_ON",
    "NOTIFY_STATE_TABLE",
    "NOTIFY_ON_SCAN_FAILURE",
    "ECR_SNS_REPORT_TOPIC_ARN",
)


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> CountingSession:
    counting = CountingSession()
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: counting))
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NOTIFY_ON", "always")
    for level in ("HIGH", "MEDIUM", "LOW"):
        monkeypatch.setenv(level, "off")  # CRITICAL only
    return counting


@pytest.fixture
def topic(mocked: None, session: CountingSession, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An SNS topic with an SQS subscriber: ``topic()`` is what was published."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    arn = sns.create_topic(Name="ecrscan-report")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", arn)
    return lambda: [json.loads(body) for body in drain(sqs, url)]


def scanned(registry: FakeRegistry, **scan: Any) -> dict[str, Any]:
    """An image ``app:v1`` with one HIGH finding (``HIGH_KEV`` unless given), and the
    scan-complete event ECR sends for it."""
    if "enhanced_findings" not in scan:
        scan.setdefault("findings", [HIGH_KEV])
    digest = image(registry, "app", "v1", {"HIGH": 1}, **scan)
    return variant(
        ECR_SAMPLE,
        repository_name="app",
        image_digest=digest,
        image_tags=["v1"],
        finding_severity_counts={"HIGH": 1},
    )


def kev_file(tmp_path: Path) -> str:
    path = tmp_path / "kev.json"
    path.write_text(json.dumps(KEV_JSON))
    return str(path)


def epss_file(tmp_path: Path, score: float) -> str:
    path = tmp_path / "epss.csv"
    path.write_text(f"#model_version:v2025.03.14\ncve,epss,percentile\nCVE-2025-0002,{score},0.5\n")
    return str(path)


# -- --fail-on-kev ------------------------------------------------------------------


def test_without_a_gate_a_high_kev_finding_under_critical_only_publishes_nothing(
    registry: FakeRegistry, topic: Any, session: CountingSession, monkeypatch, tmp_path
) -> None:
    event = scanned(registry)
    monkeypatch.setenv("ECRSCAN_KEV_FILE", kev_file(tmp_path))  # a catalogue, no gate
    result = reporter.handler(event, FakeContext())
    assert result["status"] == "ok" and result["published"] == 0
    assert "reasons" not in result
    assert topic() == []
    assert session.built == []  # no finding read, nothing published: no AWS call


def test_fail_on_kev_publishes_a_high_kev_finding_naming_the_cve(
    registry: FakeRegistry, topic: Any, session: CountingSession, monkeypatch, tmp_path
) -> None:
    event = scanned(registry)
    monkeypatch.setenv("ECRSCAN_FAIL_ON_KEV", "1")
    monkeypatch.setenv("ECRSCAN_KEV_FILE", kev_file(tmp_path))
    result = reporter.handler(event, FakeContext())
    assert result["status"] == "breach" and result["published"] == 1
    assert result["breaches"] == [] and result["reasons"] == [KEV_REASON]
    (note,) = topic()
    assert "app" in note["Subject"]
    assert KEV_REASON in note["Message"]
    assert session.built == ["ecr", "sns"]


def test_the_kev_file_is_parsed_once_per_warm_container(
    registry: FakeRegistry, topic: Any, session: CountingSession, monkeypatch, tmp_path
) -> None:
    event = scanned(registry)
    monkeypatch.setenv("ECRSCAN_FAIL_ON_KEV", "true")
    path = kev_file(tmp_path)
    monkeypatch.setenv("ECRSCAN_KEV_FILE", path)
    assert reporter.handler(event, FakeContext())["published"] == 1
    Path(path).unlink()  # the warm container keeps what it parsed
    assert reporter.handler(event, FakeContext())["reasons"] == [KEV_REASON]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"ECRSCAN_KEV_FILE: KEV file .*kev\.json: cannot read it"),
        ('{"vulnerabilities": 1}', "ECRSCAN_KEV_FILE: KEV file .*no 'vulnerabilities' list"),
        ("not json", "ECRSCAN_KEV_FILE: KEV file .*not CISA's KEV JSON"),
    ],
)
def test_a_kev_file_that_cannot_be_used_is_a_configuration_error_before_any_call(
    session: CountingSession, monkeypatch, tmp_path, content: str | None, message: str
) -> None:
    path = tmp_path / "kev.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("ECRSCAN_FAIL_ON_KEV", "1")
    monkeypatch.setenv("ECRSCAN_KEV_FILE", str(path))
    with pytest.raises(runtime.ConfigurationError, match=message):
        reporter.handler(variant(ECR_SAMPLE, image_tags=["v1"]), FakeContext())
    assert session.built == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ECRSCAN_FAIL_ON_KEV": "1"}, "ECRSCAN_FAIL_ON_KEV needs CISA's catalogue"),
        ({"ECRSCAN_FAIL_ON_KEV": "maybe"}, "ECRSCAN_FAIL_ON_KEV must be true or false"),
        ({"ECRSCAN_EXPLOITABLE": "2"}, "ECRSCAN_EXPLOITABLE must be true or false"),
        ({"ECRSCAN_MIN_EPSS": "1.5"}, "ECRSCAN_MIN_EPSS: '1.5' is not a number from 0 to 1"),
        ({"ECRSCAN_EPSS_FILE": "/nonexistent/epss.csv"}, "ECRSCAN_EPSS_FILE: EPSS file"),
    ],
)
def test_a_gate_that_cannot_work_is_a_configuration_error_before_any_call(
    session: CountingSession, monkeypatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(runtime.ConfigurationError, match=message):
        reporter.handler(variant(ECR_SAMPLE, image_tags=["v1"]), FakeContext())
    assert session.built == []


# -- --min-epss and --exploitable -----------------------------------------------------


@pytest.mark.parametrize(("score", "published"), [(0.05, 0), (0.5, 1)])
def test_min_epss_counts_only_findings_scored_at_least_it(
    registry: FakeRegistry,
    topic: Any,
    session: CountingSession,
    monkeypatch,
    tmp_path,
    score: float,
    published: int,
) -> None:
    event = scanned(registry)
    monkeypatch.setenv("HIGH", "0")  # the HIGH finding breaches by its count alone
    monkeypatch.setenv("ECRSCAN_MIN_EPSS", "0.1")
    monkeypatch.setenv("ECRSCAN_EPSS_FILE", epss_file(tmp_path, score))
    result = reporter.handler(event, FakeContext())
    assert result["published"] == published
    assert result["status"] == ("breach" if published else "ok")
    assert result["reasons"] == (["HIGH 1 > 0"] if published else [])
    notes = topic()
    assert len(notes) == published
    assert all("HIGH 1>0" in note["Message"] for note in notes)


def test_min_epss_without_a_score_counts_the_finding_and_says_so(
    registry: FakeRegistry, topic: Any, session: CountingSession, monkeypatch
) -> None:
    event = scanned(registry)
    monkeypatch.setenv("HIGH", "0")
    monkeypatch.setenv("ECRSCAN_MIN_EPSS", "0.1")
    result = reporter.handler(event, FakeContext())
    assert result["status"] == "breach" and result["published"] == 1
    assert result["notices"] == ["--min-epss: 1 finding with no EPSS score counted"]


@pytest.mark.parametrize(("exploit", "published"), [("NO", 0), ("YES", 1)])
def test_exploitable_on_an_enhanced_scan_event(
    registry: FakeRegistry,
    topic: Any,
    session: CountingSession,
    monkeypatch,
    exploit: str,
    published: int,
) -> None:
    registry.set_scan_type("ENHANCED")
    finding = copy.deepcopy(ENHANCED) | {"exploitAvailable": exploit}
    scanned(registry, enhanced_findings=[finding], status="ACTIVE")
    digest = registry.client.describe_images(repositoryName="app")["imageDetails"][0]
    event = variant(
        INSPECTOR_SAMPLE,
        repository_name=f"arn:aws:ecr:{REGION}:123456789012:repository/app",
        image_digest=digest["imageDigest"],
        image_tags=["v1"],
        finding_severity_counts={"HIGH": 1, "TOTAL": 1},
    )
    monkeypatch.setenv("HIGH", "0")
    monkeypatch.setenv("ECRSCAN_EXPLOITABLE", "yes")
    result = reporter.handler(event, FakeContext())
    assert result["published"] == published
    assert result["status"] == ("breach" if published else "ok")
    assert len(topic()) == published


def test_the_message_names_both_rules_and_what_a_gate_left_out(
    registry: FakeRegistry, topic: Any, session: CountingSession, monkeypatch, tmp_path
) -> None:
    other = {"name": "CVE-2025-0003", "severity": "HIGH", "attributes": []}
    event = scanned(registry, findings=[HIGH_KEV, other, {**other, "name": "CVE-2025-0004"}])
    event["detail"]["finding-severity-counts"] = {"HIGH": 3}
    epss = tmp_path / "epss.csv"
    epss.write_text("cve,epss\nCVE-2025-0002,0.01\nCVE-2025-0003,0.5\nCVE-2025-0004,0.02\n")
    for name, value in {
        "HIGH": "0",
        "ECRSCAN_FAIL_ON_KEV": "1",
        "ECRSCAN_KEV_FILE": kev_file(tmp_path),
        "ECRSCAN_MIN_EPSS": "0.1",
        "ECRSCAN_EPSS_FILE": str(epss),
    }.items():
        monkeypatch.setenv(name, value)
    sent: list[Any] = []
    publish = SnsTopic.publish
    monkeypatch.setattr(SnsTopic, "publish", lambda self, m: publish(self, sent.extend(m) or m))
    result = reporter.handler(event, FakeContext())
    # the KEV finding breaches though its EPSS is low; one HIGH counts, two do not
    assert result["reasons"] == ["HIGH 1 > 0", KEV_REASON]
    (note,) = topic()
    assert KEV_REASON in note["Message"] and "HIGH 1>0" in note["Message"]
    (message,) = sent
    email = json.loads(message.message)["email"]
    assert f"breach:  {KEV_REASON}" in email
    assert "ignored: 2 findings by the ignore file or a gate" in email


def test_on_change_a_kev_breach_is_published_once(
    registry: FakeRegistry, topic: Any, session: CountingSession, monkeypatch, tmp_path
) -> None:
    event = scanned(registry)
    monkeypatch.setenv("NOTIFY_ON", "change")
    monkeypatch.setenv("NOTIFY_STATE_TABLE", create_state_table())
    monkeypatch.setenv("ECRSCAN_FAIL_ON_KEV", "1")
    monkeypatch.setenv("ECRSCAN_KEV_FILE", kev_file(tmp_path))
    first = reporter.handler(event, FakeContext())
    assert (first["change"], first["published"]) == ("new", 1)
    again = reporter.handler(event, FakeContext())
    assert (again["change"], again["published"]) == ("unchanged", 0)
    (note,) = topic()
    assert KEV_REASON in note["Message"]
