"""`ecrscan repos` and `ecrscan rescan` through Click's CliRunner, against moto."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrscan import __version__
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.cli.progress import ProgressDisplay
from ecrscan.engine.runner import Event
from tests.support.cli_sessions import Forbidden, Sessions, no_aws
from tests.support.env import REGION
from tests.support.fakes import quick_registry
from tests.support.registry import FakeRegistry

NOW = datetime.now(UTC)
DENIED = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:DescribeImages"


def invoke(args: list[str], obj: AppContext | None = None, **kwargs: Any) -> Result:
    """Run the CLI at :data:`NOW`; sessions come from :class:`Sessions` unless ``obj``
    says otherwise (the default boto3.Session path is what the end-to-end tests run)."""
    return CliRunner().invoke(
        cli, args, obj=obj or AppContext(session_factory=Sessions(), clock=lambda: NOW), **kwargs
    )


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    """conftest's registry on a session that shares the model loader (faster)."""
    return quick_registry(REGION)


@pytest.fixture
def seeded(registry: FakeRegistry) -> dict[str, str]:
    """team/api: one never scanned, one fresh; team/web: one stale; other/db: one stale."""
    for repo in ("team/api", "team/web", "other/db"):
        registry.create_repo(repo)
    digests = {
        "api-new": registry.push("team/api", "v2"),
        "api-fresh": registry.push("team/api", "v1"),
        "web-old": registry.push("team/web", "latest"),
        "db-old": registry.push("other/db", "15"),
    }
    registry.set_pushed_at("team/api", digests["api-new"], NOW - timedelta(days=1))
    registry.set_pushed_at("team/api", digests["api-fresh"], NOW - timedelta(days=5))
    registry.set_scan(
        "team/api", digests["api-fresh"], completed_at=NOW - timedelta(days=2), counts={"HIGH": 1}
    )
    registry.set_scan("team/web", digests["web-old"], completed_at=NOW - timedelta(days=20))
    registry.set_scan("other/db", digests["db-old"], completed_at=NOW - timedelta(hours=30))
    return digests


# -- basics ---------------------------------------------------------------------------


def test_version_and_help() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.output == f"ecrscan, version {__version__}\n"
    result = invoke(["rescan", "--help"])
    assert result.exit_code == 0
    for text in (
        "--expiry",
        "ECR_IMAGES_DURATION_DELTA",
        "REPOSITORIES_FILTER_REGEXP",
        "--dry-run",
        "--concurrency",
        "--format",
        "--output",
        "docs/iam.md",
    ):
        assert text in result.output
    assert "--filter" in invoke(["repos", "--help"]).output


# -- repos ----------------------------------------------------------------------------


def test_repos_table(seeded: dict[str, str]) -> None:
    result = invoke(["repos"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "3 repositories"
    rows = [line for line in lines if "123456789012" in line]
    assert [row.split()[1] for row in rows] == ["other/db", "team/api", "team/web"]
    assert result.stderr == ""


def test_repos_json(seeded: dict[str, str]) -> None:
    result = invoke(["repos", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == [
        "schema_version",
        "command",
        "region",
        "count",
        "repositories",
        "exit_code",
    ]
    assert (doc["schema_version"], doc["command"], doc["region"], doc["count"]) == (
        1,
        "repos",
        REGION,
        3,
    )
    api = doc["repositories"][1]
    assert list(api) == ["name", "registry_id", "arn", "uri", "created_at", "scan_on_push"]
    assert api["name"] == "team/api"
    assert api["registry_id"] == "123456789012"
    assert api["arn"] == "arn:aws:ecr:us-east-1:123456789012:repository/team/api"
    assert api["uri"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api"
    assert datetime.fromisoformat(api["created_at"]).tzinfo is not None
    assert api["scan_on_push"] is False


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--filter", "api"], {}, ["team/api"]),
        (["--filter", "^team/"], {}, ["team/api", "team/web"]),
        (["--filter", "^team$"], {}, []),  # anchored: full match only
        (["--exclude", "web", "--exclude", "db"], {}, ["team/api"]),
        (["--filter", "team", "--exclude", "api$"], {}, ["team/web"]),
        ([], {"REPOSITORIES_FILTER_REGEXP": "db"}, ["other/db"]),
        (["--filter", "web"], {"REPOSITORIES_FILTER_REGEXP": "db"}, ["team/web"]),  # flag wins
        ([], {"ECRSCAN_EXCLUDE": "web db"}, ["team/api"]),
    ],
)
def test_repos_filters(
    seeded: dict[str, str], args: list[str], env: dict[str, str], expected: list[str]
) -> None:
    result = invoke(["repos", "--format", "json", *args], env=env)
    assert result.exit_code == 0, result.output
    assert [r["name"] for r in json.loads(result.stdout)["repositories"]] == expected


def test_repos_output_file(seeded: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "repos.json"
    result = invoke(["repos", "--format", "json", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text())["count"] == 3


# -- usage and configuration errors: exit 2, no AWS call --------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["rescan", "--expiry", "7x"], {}, "Invalid value for '--expiry'"),
        (["rescan", "--expiry", "7"], {}, "has no unit"),
        (["rescan", "--expiry", "0d"], {}, "greater than zero"),
        (["rescan"], {"ECR_IMAGES_DURATION_DELTA": "1 week"}, "Invalid value for '--expiry'"),
        (["rescan", "--filter", "("], {}, "invalid --filter regular expression '('"),
        (["repos", "--filter", "["], {}, "invalid --filter regular expression"),
        (
            ["rescan", "--exclude", "ok", "--exclude", "*x"],
            {},
            "Invalid value for '--exclude': invalid --exclude regular expression '*x'",
        ),
        (
            ["repos", "--filter", "+"],
            {},
            "Invalid value for '--filter': invalid --filter regular expression '+'",
        ),
        (["rescan"], {"REPOSITORIES_FILTER_REGEXP": "(unclosed"}, "invalid --filter regular"),
        (["rescan", "--concurrency", "0"], {}, "0 is not in the range"),
        (["rescan", "--format", "xml"], {}, "Invalid value for '--format'"),
        (["rescan", "-o", "/no/such/dir/out.json"], {}, "does not exist"),
    ],
)
def test_usage_errors_exit_2_before_any_aws_call(
    args: list[str], env: dict[str, str], message: str
) -> None:
    result = invoke(args, obj=AppContext(session_factory=no_aws), env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not isinstance(result.exception, Forbidden)
    assert "Traceback" not in result.output


def test_no_region_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    for command in (["repos"], ["rescan"]):
        result = invoke(command)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            "ecrscan: configuration error: no AWS region: pass --region or set AWS_REGION "
            "(or AWS_DEFAULT_REGION)\n"
        )


def test_aws_region_env_is_honoured(seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = invoke(["repos", "--format", "json"], env={"AWS_REGION": REGION})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["region"] == REGION


def test_unknown_profile_exits_2() -> None:
    result = invoke(["--profile", "nope", "rescan"])
    assert result.exit_code == 2
    assert "could not be found: check --profile / AWS_PROFILE" in result.stderr


def test_no_credentials_exit_3_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for command in (["repos"], ["rescan"], ["rescan", "--dry-run", "--format", "json"]):
        result = invoke(["--endpoint-url", "http://127.0.0.1:9", *command])
        assert result.exit_code == 3, result.output
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("ecrscan: error: no AWS credentials found: ")
        assert "aws configure" in result.stderr and "AWS_PROFILE" in result.stderr
        assert "Traceback" not in result.output


# -- rescan -----------------------------------------------------------------------------


def test_rescan_table_starts_due_scans(seeded: dict[str, str], registry: FakeRegistry) -> None:
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    result = invoke(["rescan"], env={"COLUMNS": "200"})  # room for a column per counter
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ecrscan rescan: expiry 7d (7 days), scan type BASIC")
    rows = {cells[0]: cells[1:] for cells in table_rows(result.stdout)}
    # columns: images, due, fresh (shown when any), started, already scanned, ...
    assert rows["team/api"][:4] == ["2", "1", "1", "1"]  # images, due, fresh, started
    assert rows["team/web"][:4] == ["1", "1", "0", "1"]
    assert rows["other/db"][:4] == ["1", "0", "1", "0"]
    assert rows["TOTAL"][:4] == ["4", "2", "2", "2"]
    scanned = registry._image("team/web", seeded["web-old"]).last_scan
    assert scanned >= started_at


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_rescan_dry_run_table(seeded: dict[str, str], registry: FakeRegistry) -> None:
    before = registry._image("team/web", seeded["web-old"]).last_scan
    result = invoke(["rescan", "--dry-run"])
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[:6]
    assert result.stdout.startswith("ecrscan dry run: expiry 7d")
    assert sum(line.count("planned") for line in header) == 1
    assert not any("started" in line for line in header)
    assert registry._image("team/web", seeded["web-old"]).last_scan == before


@pytest.mark.parametrize(("columns", "width"), [(None, 80), ("60", 60), ("200", 200)])
def test_rescan_table_fits_columns_without_a_terminal(
    seeded: dict[str, str], columns: str | None, width: int
) -> None:
    """Issue 19: stdout is no terminal here; the table takes COLUMNS, else 80."""
    result = invoke(["rescan", "--dry-run"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= width, result.stdout


def rescan_json(
    args: tuple[str, ...] | list[str] = (), **kwargs: Any
) -> tuple[Result, dict[str, Any]]:
    result = invoke(["rescan", "--format", "json", *args], **kwargs)
    return result, json.loads(result.stdout)


def test_rescan_json_document(seeded: dict[str, str]) -> None:
    result, doc = rescan_json()
    assert result.exit_code == 0, result.output
    assert list(doc) == [
        "schema_version",
        "command",
        "generated_at",
        "region",
        "expiry",
        "dry_run",
        "scan_type",
        "complete",
        "exit_code",
        "notices",
        "totals",
        "repositories",
        "images",
        "account",
        "targets",
        "scope",
        "artifacts",
        "reason",
        "cache",
    ]
    assert doc["schema_version"] == 1
    assert doc["complete"] is True and doc["reason"] is None
    assert doc["command"] == "rescan"
    generated = datetime.fromisoformat(doc["generated_at"])
    assert generated == NOW  # the run's clock
    assert (doc["region"], doc["expiry"], doc["dry_run"], doc["scan_type"]) == (
        REGION,
        "7d",
        False,
        "BASIC",
    )
    assert doc["complete"] is True
    assert doc["notices"] == []
    counters = [
        "images",
        "due",
        "fresh",
        "started",
        "planned",
        "already_scanned",
        "scanned_meanwhile",
        "not_started",
        "in_progress",
        "skipped",
        "not_rescannable",
        "failed",
    ]
    assert list(doc["totals"]) == counters
    assert doc["totals"]["images"] == 4 and doc["totals"]["started"] == 2
    assert [r["name"] for r in doc["repositories"]] == ["other/db", "team/api", "team/web"]
    for repo in doc["repositories"]:
        assert list(repo) == [
            "name",
            "registry_id",
            "counts",
            "error",
            "account",
            "region",
            "scope",
        ]
        assert list(repo["counts"]) == counters
        assert repo["error"] is None
        assert repo["registry_id"] == "123456789012"
    assert sum(r["counts"]["started"] for r in doc["repositories"]) == doc["totals"]["started"]
    images = {i["digest"]: i for i in doc["images"]}
    assert len(images) == 4
    new, fresh, old = (images[seeded[k]] for k in ("api-new", "api-fresh", "web-old"))
    assert list(new) == [
        "repository",
        "registry_id",
        "digest",
        "tags",
        "pushed_at",
        "last_scan_at",
        "status",
        "decision",
        "reason",
        "outcome",
        "detail",
        "account",
        "region",
        "platform",
        "index_digest",
    ]
    assert new == {
        "repository": "team/api",
        "registry_id": "123456789012",
        "digest": seeded["api-new"],
        "tags": ["v2"],
        "pushed_at": new["pushed_at"],
        "last_scan_at": None,
        "status": "NEVER_SCANNED",
        "decision": "due",
        "reason": "never scanned",
        "outcome": "started",
        "detail": None,
        "account": "123456789012",
        "region": REGION,
        "platform": "",
        "index_digest": "",
    }
    pushed = datetime.fromisoformat(new["pushed_at"])
    assert abs(pushed - (NOW - timedelta(days=1))) < timedelta(seconds=2)
    assert (fresh["status"], fresh["decision"], fresh["outcome"]) == ("COMPLETE", "fresh", None)
    last = datetime.fromisoformat(fresh["last_scan_at"])
    assert abs(last - (NOW - timedelta(days=2))) < timedelta(seconds=1)
    assert (old["decision"], old["reason"], old["outcome"]) == (
        "due",
        "last scan older than expiry (20d ago)",
        "started",
    )
    # images: repository order, newest push first within a repository
    order = [i["repository"] for i in doc["images"]]
    assert order == ["other/db", "team/api", "team/api", "team/web"]
    assert doc["images"][1]["digest"] == seeded["api-new"]


def test_dry_run_json_plans(seeded: dict[str, str]) -> None:
    result, doc = rescan_json(["--dry-run"])
    assert result.exit_code == 0
    assert doc["dry_run"] is True
    assert doc["totals"]["planned"] == 2 and doc["totals"]["started"] == 0
    assert {i["outcome"] for i in doc["images"]} == {"planned", None}
    assert {i["detail"] for i in doc["images"] if i["outcome"]} == {"dry run"}


def test_expiry_env_var(seeded: dict[str, str]) -> None:
    result, doc = rescan_json(["--dry-run"], env={"ECR_IMAGES_DURATION_DELTA": "1d"})
    assert result.exit_code == 0
    assert doc["expiry"] == "1d"
    assert doc["totals"]["planned"] == 4  # the 2-day and 30-hour-old scans are due too
    result, doc = rescan_json(["--dry-run"], env={"ECR_IMAGES_DURATION_DELTA": "36h"})
    assert (doc["expiry"], doc["totals"]["planned"]) == ("36h", 3)


def test_expiry_flag_wins_over_env(seeded: dict[str, str]) -> None:
    result, doc = rescan_json(
        ["--dry-run", "--expiry", "1m"], env={"ECR_IMAGES_DURATION_DELTA": "1h"}
    )
    assert result.exit_code == 0
    assert doc["expiry"] == "1m"
    assert doc["totals"]["planned"] == 1  # only the never-scanned image


def test_filter_env_var_for_rescan(seeded: dict[str, str]) -> None:
    result, doc = rescan_json(["--dry-run"], env={"REPOSITORIES_FILTER_REGEXP": "^team/"})
    assert result.exit_code == 0
    assert [r["name"] for r in doc["repositories"]] == ["team/api", "team/web"]


def test_output_file_written_on_success(seeded: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "rescan.json"
    result = invoke(["rescan", "--dry-run", "--format", "json", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text())["totals"]["planned"] == 2
    table = tmp_path / "rescan.txt"
    assert invoke(["rescan", "--dry-run", "-o", str(table)]).exit_code == 0
    assert table.read_text().startswith("ecrscan dry run: expiry 7d")


def test_output_file_untouched_when_the_run_fails(seeded: dict[str, str], tmp_path: Path):
    sessions = Sessions()
    sessions.refuse("DescribeRepositories", "AccessDeniedException", "not authorized")
    target = tmp_path / "rescan.json"
    target.write_text("previous report")
    result = invoke(
        ["rescan", "--format", "json", "-o", str(target)], obj=AppContext(session_factory=sessions)
    )
    assert result.exit_code == 3
    assert result.stderr == "ecrscan: error: AccessDeniedException: not authorized\n"
    assert target.read_text() == "previous report"
    missing = tmp_path / "new.json"
    result = invoke(["repos", "-o", str(missing)], obj=AppContext(session_factory=sessions))
    assert result.exit_code == 3
    assert not missing.exists()


def test_failed_repository_exits_3_and_others_finish(seeded: dict[str, str], tmp_path: Path):
    sessions = Sessions()
    sessions.refuse("DescribeImages", "AccessDeniedException", DENIED, repository="team/web")
    target = tmp_path / "partial.json"
    result = invoke(
        ["rescan", "--format", "json", "-o", str(target)], obj=AppContext(session_factory=sessions)
    )
    assert result.exit_code == 3
    stderr = result.stderr.splitlines()
    assert stderr == [
        f"ecrscan: error: repository team/web: AccessDeniedException: {DENIED}",
        "ecrscan: error: incomplete: 1 repository failed",
    ]
    # the partial report is still written, marked incomplete, with the repository's error
    doc = json.loads(target.read_text())
    assert doc["complete"] is False
    web = next(r for r in doc["repositories"] if r["name"] == "team/web")
    assert web["error"] == {"code": "AccessDeniedException", "message": DENIED}
    assert doc["totals"]["started"] == 1  # team/api's never-scanned image
    assert "Traceback" not in result.output


def test_failed_repository_table_shows_the_error(seeded: dict[str, str]) -> None:
    sessions = Sessions()
    sessions.refuse("DescribeImages", "AccessDeniedException", "denied", repository="team/web")
    result = invoke(["rescan", "--dry-run"], obj=AppContext(session_factory=sessions))
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "team/web" in line)
    assert "0" in row  # its row in the table, the error on a line of its own below
    assert "  team/web: error: AccessDeniedException: denied" in lines


def test_enhanced_registry_notice(seeded: dict[str, str], registry: FakeRegistry) -> None:
    registry.set_scan_type("ENHANCED")
    result, doc = rescan_json()
    assert result.exit_code == 0
    assert doc["scan_type"] == "ENHANCED"
    assert doc["totals"]["started"] == 0 and doc["totals"]["not_rescannable"] == 2
    assert result.stderr.startswith("ecrscan: registry scan type is ENHANCED")
    assert result.stderr.count("\n") == 1
    quiet = invoke(["-q", "rescan", "--format", "json"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


# -- progress -----------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    """Make the CLI believe stderr is a terminal (CliRunner's streams are not)."""
    screen = FakeTerminal()
    original = ProgressDisplay.for_terminal.__func__

    def for_terminal(
        cls: type, enabled: bool = True, stream: Any = None, **kwargs: Any
    ) -> ProgressDisplay:
        return original(cls, enabled=enabled, stream=screen, **kwargs)

    monkeypatch.setattr(ProgressDisplay, "for_terminal", classmethod(for_terminal))
    return screen


def test_progress_bar_on_a_terminal(seeded: dict[str, str], terminal: FakeTerminal) -> None:
    result = invoke(["rescan", "--dry-run", "--format", "json"])
    assert result.exit_code == 0
    drawn = terminal.getvalue()
    assert "repositories" in drawn and "images checked" in drawn and "scans started" in drawn
    assert "images checked" not in result.stdout + result.stderr
    json.loads(result.stdout)


def test_quiet_has_no_progress_bar(seeded: dict[str, str], terminal: FakeTerminal) -> None:
    result = invoke(["--quiet", "rescan", "--dry-run"])
    assert result.exit_code == 0
    assert terminal.getvalue() == ""


def test_report_progress_bar_has_no_scans_row() -> None:
    screen = FakeTerminal()
    with ProgressDisplay.for_terminal(enabled=True, stream=screen, scans=False) as display:
        display.callback(Event.REPOSITORIES, 1)
        display.callback(Event.IMAGES_FOUND, 2)
        display.callback(Event.IMAGE_CHECKED, 2)
        display.callback(Event.SCAN_STARTED, 1)  # ignored without the row
    drawn = screen.getvalue()
    assert "images checked" in drawn
    assert "scans started" not in drawn


def test_no_progress_bar_when_not_a_terminal() -> None:
    assert not ProgressDisplay.for_terminal(enabled=True, stream=io.StringIO()).active
    assert not ProgressDisplay.for_terminal(enabled=False, stream=FakeTerminal()).active
    assert ProgressDisplay.for_terminal(enabled=True, stream=FakeTerminal()).active


def test_ctrl_c_exits_3_not_1(seeded: dict[str, str]) -> None:
    sessions = Sessions()

    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt

    sessions.hooks.append(("before-call.ecr.DescribeRepositories", interrupt))
    result = invoke(["rescan"], obj=AppContext(session_factory=sessions))
    assert result.exit_code == 3  # 1 would read as "thresholds breached"
    assert result.stderr == "ecrscan: error: interrupted: the work is incomplete\n"
