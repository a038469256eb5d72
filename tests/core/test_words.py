"""Counting in words: the noun and the verb agree with the number; AWS call counts by
the API's operation names."""

from __future__ import annotations

import boto3
import pytest

from ecrscan.core.words import agree, calls_text, operation_name, plural


def test_plural_and_agree() -> None:
    assert plural(1, "image") == "1 image"
    assert plural(0, "image") == "0 images"
    assert plural(2, "repository") == "2 repositories"
    assert agree(1, "breaches") == "breaches"
    assert agree(2, "breaches") == "breach"
    assert agree(0, "is") == "are"
    assert agree(1, "is") == "is"
    assert (agree(1, "was"), agree(3, "was")) == ("was", "were")
    assert (agree(1, "does"), agree(2, "does")) == ("does", "do")


def test_calls_text_names_operations_sorted_with_a_total() -> None:
    calls = {"describe_repositories": 1, "describe_images": 3, "describe_image_scan_findings": 2}
    assert calls_text(calls) == (
        "DescribeImageScanFindings 2, DescribeImages 3, DescribeRepositories 1 (6 in total)"
    )
    assert calls_text({"describe_repositories": 1}) == "DescribeRepositories 1 (1 in total)"
    assert calls_text({}) == "none"


@pytest.mark.parametrize(
    ("service", "method"),
    [
        ("ecr", "describe_image_scan_findings"),
        ("ecr", "batch_get_image"),
        ("ecr", "get_registry_scanning_configuration"),
        ("inspector2", "list_finding_aggregations"),
        ("ecs", "list_task_definitions"),
        ("sts", "get_caller_identity"),
        ("organizations", "list_accounts_for_parent"),
        ("ec2", "describe_regions"),
        ("sqs", "send_message_batch"),
        ("dynamodb", "put_item"),
    ],
)
def test_operation_names_are_the_apis_own(service: str, method: str) -> None:
    client = boto3.session.Session().client(service, region_name="us-east-1")
    assert operation_name(method) == client.meta.method_to_api_mapping[method]
