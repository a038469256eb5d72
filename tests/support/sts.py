"""STS on moto's server: registered roles, failing calls, hosts."""

from __future__ import annotations

import boto3
from botocore.awsrequest import AWSResponse


def fail_calls(session, event: str, when, code: str, message: str, status: int = 403):
    """Make calls matching ``when(params)`` fail with an AWS error, before they leave
    botocore (the other calls still reach moto)."""

    def handler(model, params, **kwargs):
        if when(params):
            body = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return AWSResponse(params["url"], status, {}, None), body
        return None

    session.events.register(event, handler)


def register(session: boto3.Session, family: str, *images: str) -> str:
    ecs = session.client("ecs", region_name="us-east-1")
    containers = [
        {"name": f"c{i}", "image": image, "memory": 128} for i, image in enumerate(images)
    ]
    response = ecs.register_task_definition(family=family, containerDefinitions=containers)
    return response["taskDefinition"]["taskDefinitionArn"]


def host(account: str) -> str:
    return f"{account}.dkr.ecr.us-east-1.amazonaws.com"
