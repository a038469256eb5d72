"""An image that could not be read is named without empty parentheses in every text
format (issue 19)."""

from __future__ import annotations

import pytest

from tests.support.cli_report import image, invoke
from tests.support.registry import FakeRegistry


@pytest.mark.parametrize("fmt", ["table", "junit", "markdown"])
def test_an_unread_image_has_no_empty_parentheses(registry: FakeRegistry, fmt: str) -> None:
    image(registry, "team/api", "v1.4.1", {"HIGH": 1})
    result = invoke(["report", "--image", "team/api:v1.4.2", "--format", fmt])
    assert result.exit_code == 3
    assert "team/api:v1.4.2" in result.stdout + result.stderr
    assert "()" not in result.stdout and "()" not in result.stderr
