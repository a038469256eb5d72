"""``rescan``'s scan-date cache through the CLI (moto in-process): where it lives, how it
is switched off, what the record and ``-v`` say, and a corrupt or contended file."""

from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.cli.scandates import FileScanDates, default_directory
from ecrscan.core.scancache import CachedScan, ScanKey, load, store_header
from tests.support.cli_sessions import Sessions
from tests.support.env import REGION
from tests.support.fakes import quick_registry
from tests.support.registry import FakeRegistry
from tests.support.scan_dates import seed

NOW = datetime.now(UTC)
ACCOUNT = "123456789012"


def invoke(args: list[str], now: datetime = NOW, **kwargs: Any) -> Result:
    app = AppContext(session_factory=Sessions(), clock=lambda: now)
    return CliRunner().invoke(cli, args, obj=app, **kwargs)


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    reg = quick_registry(REGION)
    seed(reg, NOW, per_repo=4)
    return reg


def record(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("scan-dates-*.json"))


def test_the_record_and_v_say_how_many_reads_the_cache_saved(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    args = ["rescan", "--dry-run", "--format", "json", "--cache-dir", str(tmp_path)]
    first = record(invoke(args))
    assert first["cache"] == {"reads_saved": 0, "path": str(tmp_path)}
    (written,) = cache_files(tmp_path)
    assert ACCOUNT in written.name and REGION in written.name

    second = invoke(["-v", *args], now=NOW + timedelta(days=1))

    # 12 images: 3 never scanned, 3 scanned 30 days ago, 6 scanned 1 to 3 days ago
    assert record(second)["cache"] == {"reads_saved": 6, "path": str(tmp_path)}
    assert f"scan-date cache {tmp_path}: 6 scan-state reads saved" in second.stderr
    assert [i["decision"] for i in record(second)["images"]] == [
        i["decision"] for i in first["images"]
    ]


def test_the_cache_lives_under_xdg_cache_home_by_default(
    registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = record(invoke(["rescan", "--dry-run", "--format", "json"]))
    assert result["cache"]["path"] == str(tmp_path / "ecrscan")
    assert cache_files(tmp_path / "ecrscan")


def test_default_directory() -> None:
    assert default_directory({"XDG_CACHE_HOME": "/x"}) == Path("/x/ecrscan")
    home = Path("~").expanduser()
    assert default_directory({}) == home / ".cache" / "ecrscan"
    assert default_directory({"XDG_CACHE_HOME": "relative"}) == home / ".cache" / "ecrscan"


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--no-cache"], {}), ([], {"ECRSCAN_NO_CACHE": "1"})],
)
def test_no_cache_reads_everything_and_writes_nothing(
    registry: FakeRegistry, tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    base = ["rescan", "--dry-run", "--format", "json", "--cache-dir", str(tmp_path)]
    result = record(invoke([*base, *args], env=env))
    assert result["cache"] is None
    assert not tmp_path.exists() or not cache_files(tmp_path)


def test_the_cache_dir_comes_from_the_environment(registry: FakeRegistry, tmp_path: Path) -> None:
    result = invoke(
        ["rescan", "--dry-run", "--format", "json"], env={"ECRSCAN_CACHE_DIR": str(tmp_path)}
    )
    assert record(result)["cache"]["path"] == str(tmp_path)


def test_a_corrupt_cache_file_is_ignored_with_one_notice_and_rewritten(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    args = ["rescan", "--dry-run", "--format", "json", "--cache-dir", str(tmp_path)]
    record(invoke(args))
    (path,) = cache_files(tmp_path)
    path.write_text('{"format": "ecrscan-scan-dates", "entries": {"x": [1', encoding="utf-8")

    result = invoke(args, now=NOW + timedelta(days=1))

    document = record(result)
    assert document["cache"]["reads_saved"] == 0  # every image read
    notices = [n for n in document["notices"] if "scan-date cache" in n]
    assert len(notices) == 1 and str(path) in notices[0] and "ignored" in notices[0]
    assert result.stderr.count("scan-date cache") == 1
    header = store_header("aws", ACCOUNT, REGION, "")
    assert len(load(path.read_text(encoding="utf-8"), header)) == 9  # rewritten, valid
    again = record(invoke(args, now=NOW + timedelta(days=1)))
    assert again["cache"]["reads_saved"] == 6 and not [
        n for n in again["notices"] if "scan-date cache" in n
    ]


# -- concurrent writers -----------------------------------------------------------------


def _write_many(directory: str, worker: int, count: int) -> None:
    store = FileScanDates(Path(directory))
    now = datetime.now(UTC)
    for n in range(count):
        key = ScanKey(ACCOUNT, REGION, f"repo-{worker}", f"sha256:{n:064d}")
        store.remember({key: CachedScan(now - timedelta(days=1), now - timedelta(days=9))}, now)


def _check_valid(directory: Path) -> dict[str, CachedScan]:
    (path,) = cache_files(directory)
    assert not list(directory.glob(".*"))  # no temporary file left behind
    return load(path.read_text(encoding="utf-8"), store_header("aws", ACCOUNT, REGION, ""))


def test_concurrent_writers_in_threads_leave_a_valid_file(tmp_path: Path) -> None:
    threads = [threading.Thread(target=_write_many, args=(str(tmp_path), w, 20)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = _check_valid(tmp_path)
    assert len(entries) >= 20  # the last writer's at least; merged ones besides


def test_concurrent_writers_in_processes_leave_a_valid_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_many, args=(str(tmp_path), w, 15)) for w in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    assert len(_check_valid(tmp_path)) >= 15
