import json
import subprocess

import boto3

from tests.conftest import REGION, ecrscan_command
from tests.registry import FakeRegistry


def test_installed_command_lists_repositories_from_moto_server(server_env, moto_server):
    client = boto3.client("ecr", region_name=REGION, endpoint_url=moto_server)
    registry = FakeRegistry(client, REGION)
    registry.create_repo("team/api")
    registry.create_repo("team/web")
    proc = subprocess.run(
        [ecrscan_command(), "repos", "--format", "json", "--filter", "api"],
        env=server_env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["name"] for r in doc["repositories"]] == ["team/api"]
