"""An empty scope says what emptied it, naming only the options given: no repository in
the region, a filter that kept none, repositories without images, ``--in-use`` with no
task definition, ``--pulled-within`` leaving out every image."""

from __future__ import annotations

import boto3
import pytest

from tests.support.cli_report import image, invoke
from tests.support.env import REGION
from tests.support.inuse_world import register
from tests.support.registry import FakeRegistry

HINT = " (--allow-empty accepts an empty scope)"


def last_line(result) -> str:
    return result.stderr.splitlines()[-1]


@pytest.mark.parametrize("command", ["report", "rescan"])
def test_no_repository_in_the_region(registry: FakeRegistry, command: str) -> None:
    result = invoke([command])
    assert result.exit_code == 3
    assert last_line(result) == (
        f"ecrscan: error: nothing to {command}: there is no repository in us-east-1{HINT}"
    )


@pytest.mark.parametrize("command", ["report", "rescan"])
def test_a_filter_that_keeps_no_repository(registry: FakeRegistry, command: str) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    image(registry, "team/web", "v1", {})
    result = invoke([command, "--filter", "^nothing$"])
    assert result.exit_code == 3
    assert last_line(result) == (
        f"ecrscan: error: nothing to {command}: --filter '^nothing$' keeps none of the 2 "
        f"repositories in us-east-1{HINT}"
    )
    result = invoke([command, "--filter", "^team/", "--exclude", "api", "--exclude", "web"])
    assert last_line(result) == (
        f"ecrscan: error: nothing to {command}: --filter '^team/' and --exclude 'api', 'web' "
        f"keep none of the 2 repositories in us-east-1{HINT}"
    )


def test_a_filter_that_does_not_keep_the_only_repository(registry: FakeRegistry) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    result = invoke(["report", "--exclude", "api"])
    assert last_line(result) == (
        "ecrscan: error: nothing to report: --exclude 'api' does not keep the only repository "
        f"in us-east-1{HINT}"
    )
    result = invoke(["report", "--filter", "^team/", "--exclude", "api"])
    assert last_line(result) == (
        "ecrscan: error: nothing to report: --filter '^team/' and --exclude 'api' do not keep "
        f"the only repository in us-east-1{HINT}"
    )


def test_repositories_without_images(registry: FakeRegistry) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    registry.create_repo("empty")
    result = invoke(["report", "--filter", "^empty$"])
    assert result.exit_code == 3
    assert last_line(result) == (
        "ecrscan: error: nothing to report: --filter '^empty$' keeps 1 of 2 repositories in "
        f"us-east-1, and it holds no image{HINT}"
    )
    registry.create_repo("empty-too")
    result = invoke(["report", "--exclude", "api"])
    assert last_line(result) == (
        "ecrscan: error: nothing to report: --exclude 'api' keeps 2 of 3 repositories in "
        f"us-east-1, and they hold no image{HINT}"
    )


def test_only_empty_repositories_without_options(registry: FakeRegistry) -> None:
    registry.create_repo("empty")
    result = invoke(["report"])
    assert last_line(result) == (
        f"ecrscan: error: nothing to report: the 1 repository in us-east-1 holds no image{HINT}"
    )


@pytest.mark.parametrize("command", ["report", "rescan"])
def test_in_use_without_task_definitions(registry: FakeRegistry, command: str) -> None:
    for repo in ("team/api", "team/web"):
        image(registry, repo, "v1", {"HIGH": 1})
        image(registry, repo, "v2", {})
    result = invoke([command, "--in-use", "ecs"])
    assert result.exit_code == 3
    # one line says it (the scope's summary is not said before it)
    assert result.stderr.splitlines() == [
        f"ecrscan: error: nothing to {command}: --in-use ecs found no task definition, so no "
        f"image is in use (2 repositories listed){HINT}"
    ]
    accepted = invoke([command, "--in-use", "ecs", "--allow-empty"])
    assert accepted.exit_code == 0
    assert "ecrscan: --in-use ecs: no task definition found, so no image is in use\n" in (
        accepted.stderr
    )
    assert "0 of 0 images" not in accepted.stderr


def test_in_use_with_task_definitions_using_no_listed_image(registry: FakeRegistry) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    register(boto3.client("ecs", region_name=REGION), "web", "nginx:1.25")
    result = invoke(["report", "--in-use", "ecs"])
    assert result.exit_code == 3
    assert last_line(result) == (
        "ecrscan: error: nothing to report: --in-use ecs read 1 task definition, and none "
        f"uses an image of the 1 repository listed{HINT}"
    )
    accepted = invoke(["report", "--in-use", "ecs", "--allow-empty"])
    assert (
        "ecrscan: --in-use ecs: 1 task definition read; none uses an image of the 1 "
        "repository listed\n"
    ) in accepted.stderr


def test_pulled_within_leaving_out_every_image(registry: FakeRegistry) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    image(registry, "team/api", "v2", {})
    result = invoke(["report", "--pulled-within", "30d"])
    assert result.exit_code == 3
    assert last_line(result) == (
        "ecrscan: error: nothing to report: --pulled-within 30d left out each of the 2 "
        f"images listed{HINT}"
    )
