"""In-use discovery (pure parts): image classification, the in-use set, selection, recency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from dateutil.relativedelta import relativedelta

from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.cli.selection import SCOPE_HINTS as CLI_SCOPE_HINTS
from ecrscan.core.coverage import Location, SkippedImage
from ecrscan.core.durations import parse_duration
from ecrscan.core.inuse import (
    InUseSet,
    RepoKey,
    RepoUse,
    ScopeHints,
    build_in_use,
    classify_image,
    merge_in_use,
    select_images,
    unmatched,
)
from ecrscan.core.model import Image
from ecrscan.core.problem import Problem
from ecrscan.core.recency import pulled_within
from ecrscan.engine.discovery import discover_in_use
from ecrscan.lambdas import repositories

A = "123456789012"
B = "210987654321"
R = "us-east-1"
D = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
HOST = f"{A}.dkr.ecr.{R}.amazonaws.com"

# text -> (location, registry, repository, tag, digest)
CLASSIFY = [
    # ECR in this account and region
    (f"{HOST}/app:v1", Location.THIS_REGISTRY, HOST, "app", "v1", None),
    (f"{HOST}/app", Location.THIS_REGISTRY, HOST, "app", "latest", None),
    (f"{HOST}/team/api@{D}", Location.THIS_REGISTRY, HOST, "team/api", None, D),
    (f"{HOST}/team/api:v2@{D}", Location.THIS_REGISTRY, HOST, "team/api", "v2", D),
    (
        f"{HOST}/docker-hub/library/nginx:1.25",
        Location.THIS_REGISTRY,
        HOST,
        "docker-hub/library/nginx",
        "1.25",
        None,
    ),  # pull-through cache repository
    (f"{HOST.upper()}/app:v1", Location.THIS_REGISTRY, HOST, "app", "v1", None),
    (f"{HOST}:443/app:v1", Location.THIS_REGISTRY, HOST, "app", "v1", None),
    (
        f"{A}.dkr.ecr-fips.{R}.amazonaws.com/app:v1",
        Location.THIS_REGISTRY,
        f"{A}.dkr.ecr-fips.{R}.amazonaws.com",
        "app",
        "v1",
        None,
    ),
    (
        f"{A}.dkr-ecr.{R}.on.aws/app:v1",
        Location.THIS_REGISTRY,
        f"{A}.dkr-ecr.{R}.on.aws",
        "app",
        "v1",
        None,
    ),
    (f"  {HOST}/app:v1 ", Location.THIS_REGISTRY, HOST, "app", "v1", None),
    # ECR elsewhere
    (
        f"{A}.dkr.ecr.eu-west-1.amazonaws.com/app:v1",
        Location.OTHER_REGION,
        f"{A}.dkr.ecr.eu-west-1.amazonaws.com",
        "app",
        "v1",
        None,
    ),
    (
        f"{A}.dkr.ecr.cn-north-1.amazonaws.com.cn/app@{D}",
        Location.OTHER_REGION,
        f"{A}.dkr.ecr.cn-north-1.amazonaws.com.cn",
        "app",
        None,
        D,
    ),
    (
        f"{B}.dkr.ecr.{R}.amazonaws.com/shared/base:3",
        Location.OTHER_ACCOUNT,
        f"{B}.dkr.ecr.{R}.amazonaws.com",
        "shared/base",
        "3",
        None,
    ),
    (
        f"{B}.dkr.ecr.ap-south-1.amazonaws.com/xy@{D}",
        Location.OTHER_ACCOUNT,
        f"{B}.dkr.ecr.ap-south-1.amazonaws.com",
        "xy",
        None,
        D,
    ),
    # Docker Hub short names and explicit hosts
    ("nginx:1.25", Location.NOT_ECR, "docker.io", None, None, None),
    ("nginx", Location.NOT_ECR, "docker.io", None, None, None),
    ("library/nginx:1.25", Location.NOT_ECR, "docker.io", None, None, None),
    ("bitnami/redis@" + D, Location.NOT_ECR, "docker.io", None, None, None),
    ("docker.io/library/nginx:1.25", Location.NOT_ECR, "docker.io", None, None, None),
    ("index.docker.io/library/nginx", Location.NOT_ECR, "docker.io", None, None, None),
    # other registries, ports, odd hosts
    ("public.ecr.aws/nginx/nginx:latest", Location.NOT_ECR, "public.ecr.aws", None, None, None),
    ("ghcr.io/org/app:1.0", Location.NOT_ECR, "ghcr.io", None, None, None),
    ("quay.io/prometheus/node-exporter", Location.NOT_ECR, "quay.io", None, None, None),
    ("localhost:5000/app:dev", Location.NOT_ECR, "localhost:5000", None, None, None),
    ("localhost/app", Location.NOT_ECR, "localhost", None, None, None),
    (
        f"registry.example.com:5000/team/app@{D}",
        Location.NOT_ECR,
        "registry.example.com:5000",
        None,
        None,
        None,
    ),
    ("my.team/app:1", Location.NOT_ECR, "my.team", None, None, None),  # Docker: a host
    (
        f"{A}.dkr.ecr.{R}.amazonaws.com.evil.example/app",
        Location.NOT_ECR,
        f"{A}.dkr.ecr.{R}.amazonaws.com.evil.example",
        None,
        None,
        None,
    ),
    # ECR hosts whose reference does not parse
    (f"{HOST}/App:v1", Location.INVALID, HOST, None, None, None),
    (f"{HOST}:5000/app:v1", Location.INVALID, f"{HOST}:5000", None, None, None),
    (
        f"123.dkr.ecr.{R}.amazonaws.com/app",
        Location.INVALID,
        f"123.dkr.ecr.{R}.amazonaws.com",
        None,
        None,
        None,
    ),
    (f"{HOST}/app@sha256:1234", Location.INVALID, HOST, None, None, None),
    ("", Location.INVALID, "", None, None, None),
]


@pytest.mark.parametrize(("text", "location", "registry", "repository", "tag", "digest"), CLASSIFY)
def test_classify_image(text, location, registry, repository, tag, digest):
    got = classify_image(text, account=A, region=R)
    assert got.location is location
    assert got.registry == registry
    if repository is None:
        assert got.ref is None
        assert got.reason  # every skip says why
    else:
        assert got.ref is not None
        assert (got.ref.repository, got.ref.tag, got.ref.digest) == (repository, tag, digest)


def test_classify_keeps_the_account_and_region_of_the_uri():
    got = classify_image(f"{B}.dkr.ecr.eu-west-1.amazonaws.com/app:v1", account=A, region=R)
    assert (got.ref.registry_id, got.ref.region) == (B, "eu-west-1")


def test_classify_reasons_name_the_registry():
    assert classify_image("ghcr.io/org/app", account=A, region=R).reason == (
        "registry ghcr.io is not ECR"
    )
    assert classify_image("nginx", account=A, region=R).reason == "Docker Hub image"
    assert "ECR Public" in classify_image("public.ecr.aws/x/y", account=A, region=R).reason
    assert "lowercase" in classify_image(f"{HOST}/App", account=A, region=R).reason


# -- build_in_use ---------------------------------------------------------------------

TD1 = f"arn:aws:ecs:{R}:{A}:task-definition/web:3"
AMD64 = "linux/amd64"
TD2 = f"arn:aws:ecs:{R}:{A}:task-definition/worker:7"


def test_build_in_use_groups_tags_and_digests_per_repository():
    found = build_in_use(
        {
            TD1: (f"{HOST}/app:v1", f"{HOST}/app@{D}", "nginx:1.25"),
            TD2: (f"{HOST}/app:v2@{D2}", f"{HOST}/app:v1", f"{HOST}/sidecar"),
        },
        account=A,
        region=R,
    )
    assert found.task_definitions == 2
    assert found.repositories == {
        RepoKey(A, R, "app"): RepoUse(
            tags=frozenset({"v1"}),  # v2 came with a digest: the digest decides
            digests=frozenset({D, D2}),
            task_definitions=frozenset({TD1, TD2}),
            # no runtimePlatform given: ECS runs linux/amd64 (of an index's platforms)
            platforms=frozenset({("v1", AMD64), (D, AMD64), (D2, AMD64)}),
        ),
        RepoKey(A, R, "sidecar"): RepoUse(
            frozenset({"latest"}), frozenset(), frozenset({TD2}), frozenset({("latest", AMD64)})
        ),
    }
    assert found.skipped == (
        SkippedImage("nginx:1.25", Location.NOT_ECR, "Docker Hub image", (TD1,)),
    )
    assert found.out_of_scope == ()
    assert not found.incomplete


def test_other_accounts_are_out_of_scope_unless_a_role_is_given():
    refs = {
        TD1: (f"{B}.dkr.ecr.{R}.amazonaws.com/base:1",),
        TD2: (f"{B}.dkr.ecr.{R}.amazonaws.com/base:1",),
    }
    without = build_in_use(refs, account=A, region=R)
    assert without.repositories == {}
    (item,) = without.out_of_scope
    assert item.location is Location.OTHER_ACCOUNT
    assert item.task_definitions == (TD1, TD2)
    assert item.reason == f"ECR registry of account {B}: out of scope"  # no advice given

    with_role = build_in_use(refs, account=A, region=R, role_accounts={B})
    assert with_role.out_of_scope == ()
    assert with_role.repositories[RepoKey(B, R, "base")].tags == {"1"}


def test_other_regions_are_in_scope_only_when_requested():
    refs = {
        TD1: (
            f"{A}.dkr.ecr.eu-west-1.amazonaws.com/app:v1",
            f"{B}.dkr.ecr.eu-west-1.amazonaws.com/lib:v1",
        )
    }
    single = build_in_use(refs, account=A, region=R, role_accounts={B})
    assert single.repositories == {}
    assert [i.reason for i in single.out_of_scope] == [
        "ECR registry in region eu-west-1: out of scope"
    ] * 2
    both = build_in_use(refs, account=A, region=R, role_accounts={B}, regions={R, "eu-west-1"})
    assert set(both.repositories) == {
        RepoKey(A, "eu-west-1", "app"),
        RepoKey(B, "eu-west-1", "lib"),
    }
    assert both.for_target(B, "eu-west-1") == {
        "lib": RepoUse(frozenset({"v1"}), frozenset(), frozenset({TD1}), frozenset({("v1", AMD64)}))
    }
    assert both.for_target(A, R) == {}


@pytest.mark.parametrize(
    ("hints", "account_reason", "region_reason"),
    [
        (
            CLI_SCOPE_HINTS,
            (
                f"ECR registry of account {B}: out of scope "
                "(give --role-arn for a role in that account to audit it)"
            ),
            "ECR registry in region eu-west-1: out of scope (add --region eu-west-1)",
        ),
        (
            repositories.SCOPE_HINTS,
            (
                f"ECR registry of account {B}: out of scope "
                "(add a role in that account to ECS_DISCOVERY_ROLES to audit it)"
            ),
            (
                "ECR registry in region eu-west-1: out of scope "
                "(the function covers only its own region)"
            ),
        ),
        (
            ScopeHints(account="ask the owner of {account}", region="{region} is not ours"),
            f"ECR registry of account {B}: out of scope (ask the owner of {B})",
            "ECR registry in region eu-west-1: out of scope (eu-west-1 is not ours)",
        ),
    ],
)
def test_out_of_scope_reasons_carry_the_callers_hints(hints, account_reason, region_reason):
    refs = {
        TD1: (
            f"{B}.dkr.ecr.{R}.amazonaws.com/base:1",
            f"{A}.dkr.ecr.eu-west-1.amazonaws.com/app:v1",
        )
    }
    found = build_in_use(refs, account=A, region=R, hints=hints)
    assert {i.location: i.reason for i in found.out_of_scope} == {
        Location.OTHER_ACCOUNT: account_reason,
        Location.OTHER_REGION: region_reason,
    }


def test_invalid_references_are_skipped_with_the_parser_message():
    found = build_in_use({TD1: (f"{HOST}/App:v1",)}, account=A, region=R)
    (item,) = found.skipped
    assert item.location is Location.INVALID
    assert "not a valid ECR repository name" in item.reason


def test_merge_in_use_unites_uses_and_dedupes_skips():
    one = build_in_use({TD1: (f"{HOST}/app:v1", "nginx")}, account=A, region=R)
    two = build_in_use({TD2: (f"{HOST}/app@{D}", "nginx")}, account=A, region=R)
    failed = InUseSet(failures=((TD2, Problem("AccessDeniedException", "no")),), task_definitions=1)
    merged = merge_in_use([one, two, failed])
    assert merged.repositories[RepoKey(A, R, "app")] == RepoUse(
        frozenset({"v1"}),
        frozenset({D}),
        frozenset({TD1, TD2}),
        frozenset({("v1", AMD64), (D, AMD64)}),
    )
    assert merged.skipped == (
        SkippedImage("nginx", Location.NOT_ECR, "Docker Hub image", (TD1, TD2)),
    )
    assert merged.task_definitions == 3
    assert merged.incomplete


# -- discover_in_use over a fake gateway (moto runs are in test_ecs.py) ---------------


class FakeEcs:
    def __init__(self, images: dict[str, tuple[str, ...]], services: set[str] = frozenset()):
        self.images = images
        self.services = services
        self.described: list[str] = []

    def active_task_definitions(self):
        return iter(self.images)

    def service_task_definitions(self):
        return set(self.services)

    def container_images(self, arn):
        self.described.append(arn)
        if arn.endswith(":403"):
            raise AwsError(ErrorKind.ACCESS_DENIED, Problem("AccessDeniedException", "denied"))
        return self.images[arn]

    def task_images(self, arn):
        return self.container_images(arn), "linux/amd64"


def test_discover_in_use_records_a_task_definition_failure_and_reads_the_rest():
    bad = f"arn:aws:ecs:{R}:{A}:task-definition/secret:403"
    ecs = FakeEcs({TD1: (f"{HOST}/app:v1",), bad: (), TD2: (f"{HOST}/api@{D}",)})
    found = discover_in_use(
        ecs, services_only=False, account=A, region=R, role_accounts=set(), concurrency=2
    )
    assert sorted(ecs.described) == sorted([TD1, bad, TD2])
    assert set(found.for_target(A, R)) == {"app", "api"}
    assert found.failures == ((bad, Problem("AccessDeniedException", "denied")),)
    assert found.incomplete
    assert found.task_definitions == 3


def test_discover_in_use_services_only_reads_only_service_task_definitions():
    ecs = FakeEcs({TD1: (f"{HOST}/app:v1",), TD2: (f"{HOST}/api:v1",)}, services={TD2})
    found = discover_in_use(ecs, services_only=True, account=A, region=R, role_accounts=set())
    assert ecs.described == [TD2]
    assert set(found.for_target(A, R)) == {"api"}


def test_discover_in_use_lets_a_listing_error_fail_the_target():
    class Denied(FakeEcs):
        def active_task_definitions(self):
            raise AwsError(ErrorKind.ACCESS_DENIED, Problem("AccessDeniedException", "no"))

    with pytest.raises(AwsError):
        discover_in_use(Denied({}), services_only=False, account=A, region=R, role_accounts=set())


# -- select_images / unmatched --------------------------------------------------------


def image(digest: str, *tags: str, pulled: datetime | None = None) -> Image:
    return Image(repository="app", registry_id=A, digest=digest, tags=tags, last_pulled_at=pulled)


def test_select_images_by_digest_or_tag():
    d3 = "sha256:" + "c" * 64
    images = [image(D, "v1", "latest"), image(D2, "v2"), image(d3)]
    use = RepoUse(tags=frozenset({"latest"}), digests=frozenset({d3}))
    assert select_images(images, use) == [images[0], images[2]]
    assert select_images(images, RepoUse(tags=frozenset({"v9"}))) == []
    assert select_images(images, RepoUse()) == []
    # a tag alone never selects by digest and vice versa
    assert select_images(images, RepoUse(tags=frozenset({D}))) == []


def test_unmatched_names_references_no_image_carries():
    images = [image(D, "v1")]
    use = RepoUse(frozenset({"v1", "gone"}), frozenset({D, D2}), frozenset({TD1}))
    assert unmatched(images, use) == RepoUse(frozenset({"gone"}), frozenset({D2}), frozenset({TD1}))
    assert unmatched(images, RepoUse(frozenset({"v1"}), frozenset({D}))) == RepoUse()


# -- pulled_within --------------------------------------------------------------------

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def test_pulled_within_boundaries_and_never_pulled():
    delta = parse_duration("7d")
    cutoff = NOW - timedelta(days=7)
    at_cutoff = image("sha256:" + "1" * 64, pulled=cutoff)
    just_before = image("sha256:" + "2" * 64, pulled=cutoff - timedelta(seconds=1))
    recent = image("sha256:" + "3" * 64, pulled=NOW - timedelta(hours=1))
    future = image("sha256:" + "4" * 64, pulled=NOW + timedelta(minutes=5))  # clock skew
    never = [image("sha256:" + "5" * 64), image("sha256:" + "6" * 64)]
    images = [recent, just_before, *never, at_cutoff, future]
    result = pulled_within(images, NOW, delta)
    assert result.kept == [recent, at_cutoff, future]
    assert result.never_pulled == 2
    assert result.stale == 1
    kept, never_count, stale = result  # also a plain 3-tuple
    assert (len(kept), never_count, stale) == (3, 2, 1)


def test_pulled_within_uses_calendar_months():
    # 1m before 31 March is 28 February (2026 is not a leap year)
    feb28 = image(D, pulled=datetime(2026, 2, 28, 12, 0, tzinfo=UTC))
    feb27 = image(D2, pulled=datetime(2026, 2, 28, 11, 59, tzinfo=UTC))
    result = pulled_within([feb28, feb27], NOW, relativedelta(months=1))
    assert result.kept == [feb28]
    assert result.stale == 1


def test_pulled_within_compares_across_time_zones():
    other_zone = datetime(2026, 3, 30, 20, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    result = pulled_within([image(D, pulled=other_zone)], NOW, parse_duration("16h"))
    assert len(result.kept) == 1
    result = pulled_within([image(D, pulled=other_zone)], NOW, parse_duration("15h"))
    assert result.stale == 1


def test_pulled_within_needs_an_aware_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        pulled_within([], datetime(2026, 1, 1), parse_duration("1d"))


def test_pulled_within_of_nothing():
    assert pulled_within([], NOW, parse_duration("1d")) == ([], 0, 0)
