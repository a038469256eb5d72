from __future__ import annotations

import pytest

from ecrscan.core.imageref import ImageRef, parse_image_ref

D = "sha256:" + "ab" * 32
ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app", ImageRef("app", "latest", None, None, None)),
        ("app:v1.2.3", ImageRef("app", "v1.2.3", None, None, None)),
        ("  app:v1  ", ImageRef("app", "v1", None, None, None)),
        (f"app@{D}", ImageRef("app", None, D, None, None)),
        (f"app:v1@{D}", ImageRef("app", "v1", D, None, None)),
        ("team/app/api:2024_01", ImageRef("team/app/api", "2024_01", None, None, None)),
        ("my.team/app", ImageRef("my.team/app", "latest", None, None, None)),
        ("a-b_c.d:_x", ImageRef("a-b_c.d", "_x", None, None, None)),
        (
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1",
            ImageRef("team/app", "v1", None, ACCOUNT, "eu-west-1"),
        ),
        (
            f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com/app@{D}",
            ImageRef("app", None, D, ACCOUNT, "us-gov-west-1"),
        ),
        (
            f"{ACCOUNT}.dkr.ecr-fips.us-east-2.amazonaws.com/app",
            ImageRef("app", "latest", None, ACCOUNT, "us-east-2"),
        ),
        (
            f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1",
            ImageRef("app", "1", None, ACCOUNT, "cn-north-1"),
        ),
        (
            f"{ACCOUNT}.dkr-ecr.ap-southeast-3.on.aws/app:1",
            ImageRef("app", "1", None, ACCOUNT, "ap-southeast-3"),
        ),
    ],
)
def test_parse_valid(text: str, expected: ImageRef) -> None:
    ref = parse_image_ref(text)
    assert (ref.repository, ref.tag, ref.digest, ref.registry_id, ref.region) == (
        expected.repository,
        expected.tag,
        expected.digest,
        expected.registry_id,
        expected.region,
    )
    assert ref.text == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty image reference"),
        ("   ", "empty image reference"),
        ("App:v1", "repository names are lowercase"),
        ("app:", "tag ''"),
        ("app:-bad", "tag '-bad'"),
        ("app:" + "x" * 301, "tag"),
        ("app@sha256:abc", "64 lowercase hex"),
        ("app@" + D.upper(), "64 lowercase hex"),
        ("app@md5:" + "ab" * 16, "64 lowercase hex"),
        ("@" + D, "no repository name"),
        ("a", "2-256 characters"),
        ("app//x", "not a valid ECR repository name"),
        ("app/", "not a valid ECR repository name"),
        ("https://" + ACCOUNT + ".dkr.ecr.eu-west-1.amazonaws.com/app", "URL scheme"),
        (f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com:443/app", "has a port"),
        ("localhost:5000/app:1", "has a port"),
        ("public.ecr.aws/nginx/nginx:1", "ECR Public"),
        ("docker.io/library/nginx", "not a private ECR registry host"),
        ("12345.dkr.ecr.eu-west-1.amazonaws.com/app", "not a private ECR registry host"),
        (f"{ACCOUNT}.dkr.ecr.amazonaws.com/app", "not a private ECR registry host"),
        (f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/", "no repository name"),
    ],
)
def test_parse_invalid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="image reference") as info:
        parse_image_ref(text)
    assert message in str(info.value)


def test_display_forms() -> None:
    ref = parse_image_ref(f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/app:v1@{D}")
    assert ref.short() == f"app:v1@{D}"
    assert str(ref) == f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/app:v1@{D}"
    assert str(ImageRef("app", "v1")) == "app:v1"
