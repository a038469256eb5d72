"""The notification state table of template.yaml, created in moto exactly as the
template declares it (key schema, billing mode, TTL), so every test of notify on change
runs against the table the stack deploys."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
TABLE = "ecrscan-notify-state"


@cache
def table_properties() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(TEMPLATE))
    return dict(template["Resources"]["NotifyStateTable"]["Properties"])


def create_state_table(name: str = TABLE, region: str = REGION) -> str:
    """Create the table (in the active moto mock) as the template does; its name."""
    props = table_properties()
    client = boto3.client("dynamodb", region_name=region)
    client.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
        # CloudFormation's SSEEnabled is the API's Enabled
        SSESpecification={"Enabled": props["SSESpecification"]["SSEEnabled"]},
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
    )
    return name


def items(name: str = TABLE, region: str = REGION) -> dict[str, dict[str, Any]]:
    """Every item of the table, by key."""
    client = boto3.client("dynamodb", region_name=region)
    found = client.scan(TableName=name, ConsistentRead=True)["Items"]
    return {item["pk"]["S"]: item for item in found}
