"""The reporter function judges a scan event by its severity counts and reads no
findings: a gate on what matters set on it is a configuration error, refused before any
AWS client is made, never silently ignored."""

from __future__ import annotations

import pytest

from ecrscan.lambdas import reporter, runtime
from tests.support.events import ECR_SAMPLE, load_event
from tests.support.lambda_events import CountingSession, FakeContext


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> CountingSession:
    counting = CountingSession()
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: counting))
    for name in (*reporter.GATE_VARIABLES, "NOTIFY_ON", "ECR_SNS_REPORT_TOPIC_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NOTIFY_ON", "always")
    return counting


@pytest.mark.parametrize(
    ("name", "value"),
    [("ECRSCAN_FAIL_ON_KEV", "true"), ("ECRSCAN_MIN_EPSS", "0.1"), ("ECRSCAN_EXPLOITABLE", "1")],
)
def test_a_gate_variable_is_refused(
    session: CountingSession, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(runtime.ConfigurationError, match=f"{name}: the reporter function") as e:
        reporter.handler(load_event(ECR_SAMPLE), FakeContext())
    assert "ecrscan report" in str(e.value)
    assert session.built == []


def test_an_empty_gate_variable_is_no_gate(
    session: CountingSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECRSCAN_MIN_EPSS", "")
    for level in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        monkeypatch.setenv(level, "off")  # nothing to publish
    result = reporter.handler(load_event(ECR_SAMPLE), FakeContext())
    assert result["status"] == "ok" and result["published"] == 0
