"""Keep credentials out of the logs.

``-vv`` turns on botocore's request log, which prints every request's headers (the
session token, the ``Authorization`` header naming the access key id), the canonical
request it signs, and response bodies (STS AssumeRole and SSO return whole key pairs).
:class:`RedactingFilter`, installed on the CLI's log handler, formats each record and
masks those values before anything is written: whatever the record's shape (a ``%``
template and arguments, a dict of byte strings, XML or JSON bodies), the text that
reaches the terminal has been through :func:`redact`.
"""

from __future__ import annotations

import logging
import re

MASK = "****"

# Names of credential fields, in header, config, XML and JSON spellings:
# X-Amz-Security-Token, x-amz-security-token, aws_session_token, SessionToken,
# secretAccessKey, aws_secret_access_key, AccessKeyId, access_key_id ...
_NAME = (
    r"(?:aws[_-]?)?(?:access[_-]?key[_-]?id|secret[_-]?access[_-]?key|secret[_-]?key"
    r"|session[_-]?token|security[_-]?token)"
)
_PATTERNS = (
    # name: value / name=value / 'name': b'value' / "name":"value"
    re.compile(rf"({_NAME}['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,&;}}<>\\]+)", re.IGNORECASE),
    # <SessionToken>value</SessionToken> (STS responses)
    re.compile(rf"(<{_NAME}>)([^<]+)", re.IGNORECASE),
    # Authorization: ... Credential=AKIA.../20260101/us-east-1/ecr/aws4_request
    # and presigned X-Amz-Credential=AKIA...%2F...
    re.compile(r"(Credential\s*=\s*)([^/,\s'\"&]+)", re.IGNORECASE),
    # Signature=<hex> (Authorization header) and botocore.auth's "Signature:\n<hex>"
    re.compile(r"(Signature\s*[:=]\s*)([0-9a-f]{16,})", re.IGNORECASE),
    # an access key id anywhere else
    re.compile(r"()\b((?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,})\b"),
)


def redact(text: str) -> str:
    """``text`` with every credential value replaced by :data:`MASK`."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter: renders the record's message (and traceback) and redacts it.

    The record is rewritten in place (``msg`` the redacted text, no ``args``), so every
    handler that sees it afterwards gets the redacted text too.  It never drops a
    record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad %-template: show it raw, keep the record
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
