"""stdout closed before anything is written (``ecrscan repos | head -c 0``): exit 3 with
one line on stderr saying so (through a real pipe: the installed command)."""

from __future__ import annotations

import os
import subprocess

import boto3
import pytest

from tests.support.env import REGION, ecrscan_command

pytestmark = pytest.mark.slow  # a subprocess against the moto server


def test_a_closed_output_exits_3_with_one_line(server_env: dict[str, str], moto_server: str):
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=moto_server)
    for name in ("team/api", "team/web"):
        ecr.create_repository(repositoryName=name)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        done = subprocess.run(
            [ecrscan_command(), "repos", "--format", "json"],
            env=server_env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 3
    assert done.stderr == (
        "ecrscan: error: the output was closed before the whole record was written\n"
    )
