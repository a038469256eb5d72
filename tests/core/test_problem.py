"""Error messages as one line of a record: an HTML error page from a proxy or server
becomes its text, whitespace collapses, long messages are cut."""

from __future__ import annotations

from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from ecrscan.aws.errors import client_error
from ecrscan.core.problem import MESSAGE_LIMIT, condensed

PAGE = """<!doctype html>
<html lang=en>
<title>500 Internal Server Error</title>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request.</p>
"""


def test_an_html_error_page_becomes_its_text() -> None:
    assert condensed(PAGE) == (
        "500 Internal Server Error Internal Server Error The server encountered an "
        "internal error and was unable to complete your request."
    )


def test_plain_messages_are_kept() -> None:
    message = "User: arn:aws:iam::1:user/x is not authorized to perform: ecr:StartImageScan"
    assert condensed(message) == message
    assert condensed("a < b and c > d") == "a < b and c > d"  # no tag: nothing removed
    assert condensed("") == ""


def test_a_client_error_with_an_html_body_is_one_line() -> None:
    exc = ClientError({"Error": {"Code": "500", "Message": PAGE}}, "DescribeImageScanFindings")
    problem = client_error(exc, "DescribeImageScanFindings").problem
    assert problem.code == "500" and "\n" not in problem.message
    assert problem.message.startswith("500 Internal Server Error")


@given(st.text(max_size=2000))
def test_condensed_is_one_short_line(message: str) -> None:
    text = condensed(message)
    assert len(text) <= MESSAGE_LIMIT
    assert text == " ".join(text.split())  # no line breaks, no runs of whitespace
