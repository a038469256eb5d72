"""``ecrscan report`` as a CI gate: a gate never passes or breaches by accident.

Unusable --output and unreadable ignore files are usage errors before any AWS call; a
report of nothing, a failed SNS publication and an unexpected exception exit 3; the JSON
``exit_code`` is the process's; the summary lines speak plainly."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import ecrscan.cli.repos
from ecrscan.cli import main
from ecrscan.cli.app import AppContext
from tests.support.cli_report import CountingSessions, image, invoke
from tests.support.registry import FakeRegistry

NOW = datetime.now(UTC)
MISSING_TOPIC = "arn:aws:sns:us-east-1:123456789012:no-such-topic"


def test_output_in_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    sessions = CountingSessions()
    result = invoke(
        ["report", "-o", str(tmp_path / "missing" / "x.json")],
        app=AppContext(session_factory=sessions),
    )
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "--output" in result.stderr
    assert sessions.created == 0
    result = invoke(
        ["report"],
        env={"ECRSCAN_REPORT_OUTPUT": "/missing/dir/x.json"},
        app=AppContext(session_factory=sessions),
    )
    assert result.exit_code == 2 and sessions.created == 0


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe[[ignore]]\n", '[[ignore]]\nid = "CVE-1"\nreason = "caf\u00e9"\n'.encode("latin-1")],
    ids=["utf-16-bom", "latin-1"],
)
def test_an_ignore_file_that_is_not_utf8_is_a_usage_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "ignore.toml"
    path.write_bytes(content)
    sessions = CountingSessions()
    result = invoke(
        ["report", "--ignore-file", str(path)], app=AppContext(session_factory=sessions)
    )
    assert result.exit_code == 2
    assert "not UTF-8 text" in result.stderr and str(path) in result.stderr
    assert sessions.created == 0


def test_filters_matching_no_image_do_not_pass_the_gate(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    registry.create_repo("empty")
    out = tmp_path / "r.json"
    for args in (["--filter", "^nothing$"], ["--filter", "^empty$"]):
        result = invoke(["report", *args, "--format", "json", "-o", str(out)])
        assert result.exit_code == 3, result.output
        assert "ecrscan: error: nothing to report: --filter " in result.stderr
        document = json.loads(out.read_text())
        assert (document["images"], document["exit_code"]) == ([], 3)


def test_publish_failure_makes_the_json_exit_code_3(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    out = tmp_path / "r.json"
    result = invoke(
        [
            "report",
            "--publish",
            "--sns-topic-arn",
            MISSING_TOPIC,
            "-o",
            str(out),
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 3
    document = json.loads(out.read_text())
    assert document["exit_code"] == result.exit_code
    assert document["complete"] is True and document["totals"]["breach"] == 1
    assert document["publish_error"]["code"] == "NotFound"
    # one line says it, naming the topic
    assert [line for line in result.stderr.splitlines() if "publish" in line] == [
        f"ecrscan: error: the report was not published to {MISSING_TOPIC}: "
        "NotFound: Endpoint does not exist"
    ]


def test_publish_failure_of_an_incomplete_audit_is_said_once(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    image(registry, "app", "v2", None)  # never scanned
    result = invoke(["report", "--publish", "--sns-topic-arn", MISSING_TOPIC])
    assert result.exit_code == 3
    (line,) = [line for line in result.stderr.splitlines() if "publish" in line]
    assert line.startswith("ecrscan: error: incomplete audit: never scanned")
    assert (
        f"; the report was not published to {MISSING_TOPIC} "
        "(NotFound: Endpoint does not exist); 1 image breaches thresholds"
    ) in line


def test_publish_failure_of_an_event_makes_the_json_exit_code_3(
    tmp_path: Path, mocked: None
) -> None:
    event = {
        "version": "0",
        "id": "1",
        "detail-type": "ECR Image Scan",
        "source": "aws.ecr",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "scan-status": "COMPLETE",
            "repository-name": "app",
            "image-digest": "sha256:" + "a" * 64,
            "image-tags": ["v1"],
            "finding-severity-counts": {"HIGH": 1},
        },
    }
    source = tmp_path / "event.json"
    source.write_text(json.dumps(event))
    out = tmp_path / "r.json"
    result = invoke(
        [
            "report",
            "--event",
            str(source),
            "--publish",
            "--sns-topic-arn",
            MISSING_TOPIC,
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 3, result.output
    assert [line for line in result.stderr.splitlines() if "publish" in line] == [
        f"ecrscan: error: the report was not published to {MISSING_TOPIC}: "
        "NotFound: Endpoint does not exist"
    ]
    document = json.loads(out.read_text())
    assert (document["exit_code"], document["publish_error"]["code"]) == (3, "NotFound")


def test_the_wait_hint_is_not_given_to_who_waited(registry: FakeRegistry) -> None:
    old = image(registry, "app", "old", None)
    registry.set_pushed_at("app", old, NOW - timedelta(days=2))
    plain = invoke(["report", "--format", "json"])
    waited = invoke(["report", "--format", "json", "--wait", "--timeout", "0"])
    assert plain.exit_code == waited.exit_code == 3
    (entry,) = json.loads(plain.stdout)["images"]
    assert entry["verdict"] == "no scan (run `ecrscan rescan` or use --wait)"
    assert "or use --wait" in plain.stderr
    (entry,) = json.loads(waited.stdout)["images"]
    assert entry["verdict"] == "no scan (run `ecrscan rescan`)"
    assert "use --wait" not in waited.stderr


def test_one_image_is_one_image(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    result = invoke(["report"], env={"COLUMNS": "200"})
    assert "1 image, 1 breach" in result.stdout and "1 images" not in result.stdout


# -- main(): nothing unexpected exits 1 ------------------------------------------------------


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[Any, str]:
    monkeypatch.setattr(sys, "argv", ["ecrscan", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


def test_an_unexpected_exception_exits_3_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], mocked: None
) -> None:
    def bug(*args: Any, **kwargs: Any) -> None:
        raise KeyError("repositoryName")

    monkeypatch.setattr(ecrscan.cli.repos, "list_repositories", bug)
    code, err = run_main(monkeypatch, capsys, "repos")
    assert code == 3
    assert err == (
        "ecrscan: internal error: KeyError: 'repositoryName'; this is a bug, "
        "please report it (-v or ECRSCAN_DEBUG=1 shows the traceback)\n"
    )

    code, err = run_main(monkeypatch, capsys, "-v", "repos")
    assert code == 3 and "Traceback (most recent call last)" in err
    assert err.rstrip().endswith("this is a bug, please report it")

    monkeypatch.setenv("ECRSCAN_DEBUG", "1")
    code, err = run_main(monkeypatch, capsys, "repos")
    assert code == 3 and "Traceback" in err and "KeyError" in err


def test_main_keeps_the_other_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], registry: FakeRegistry
) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    image(registry, "app", "v2", {})
    assert run_main(monkeypatch, capsys, "report", "--image", "app:v1")[0] == 1
    assert run_main(monkeypatch, capsys, "report", "--image", "app:v2")[0] == 0
    assert run_main(monkeypatch, capsys, "report", "--threshold", "HIGH=x")[0] == 2
    assert run_main(monkeypatch, capsys, "report", "--image", "app:gone")[0] == 3
    assert run_main(monkeypatch, capsys, "--version")[0] == 0


@pytest.mark.parametrize(
    ("interrupted", "waited", "expected"),
    [
        ("", True, "scan still pending after --timeout: team/api:v1"),
        ("", False, "scan still pending (use --wait): team/api:v1"),
        ("SIGINT", True, "interrupted by SIGINT; scan still pending (the wait was stopped)"),
    ],
)
def test_a_pending_scan_says_why_it_is_still_pending(interrupted, waited, expected) -> None:
    from ecrscan.cli.gate import incomplete_message
    from ecrscan.core.model import ImageStatus, ReportResult
    from tests.support.report_samples import NOW, THRESHOLDS, report

    pending = report("team/api", ("v1",), None, status=ImageStatus.PENDING, reference="team/api:v1")
    result = ReportResult((pending,), THRESHOLDS, NOW, interrupted=interrupted)
    message = incomplete_message(result, waited)
    assert expected in message
    assert ("after --timeout" in message) is (waited and not interrupted)
