"""StartImageScan when its outcome is unknown: a server error (5xx), a timeout or a
dropped connection may come before AWS carried the call out or after it (the reply was
lost).  A blind retry of a call that was carried out is refused by the per-image quota
and would disown the scan ("already scanned"); and a scan seen in the image's state
after a lost reply may as well be another actor's (a concurrent ecrscan run, another
machine), so it cannot be claimed either.

:func:`start_scan` therefore reads the scan state before **every** retry, makes at most
:data:`MAX_START_CALLS` calls, and labels what it cannot prove as
:attr:`~ecrscan.core.model.Outcome.SCANNED_MEANWHILE`.  Only a successful reply proves a
start (docs/record.md, "Lost replies and concurrent runs", gives the reasoning).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ecrscan.core.errors import AwsError, ErrorKind
from ecrscan.core.model import Outcome, ScanStart, ScanState

__all__ = [
    "MAX_START_CALLS",
    "MEANWHILE",
    "SIGNATURE_SKEW",
    "UNKNOWN_OUTCOME",
    "scan_started_since",
    "start_scan",
]

MAX_START_CALLS = 3  # StartImageScan calls per image, whatever their outcomes
# Errors after which the call may or may not have been carried out.
UNKNOWN_OUTCOME = frozenset({ErrorKind.SERVER, ErrorKind.NETWORK})
# AWS refuses a request signed more than 5 minutes off its clock (SigV4), so a call AWS
# accepted was sent at most this far from AWS's time: a scan that completed earlier than
# that before the call was sent cannot be the call's.
SIGNATURE_SKEW = timedelta(minutes=5)
MEANWHILE = "a scan started meanwhile: this run's call or another run's"
RUNNING = frozenset({"IN_PROGRESS", "PENDING"})


def scan_started_since(state: ScanState, sent: datetime) -> bool:
    """Whether ``state`` shows a scan that may have been started by a call sent at
    ``sent`` (the caller's clock): one running, or one completed no earlier than
    :data:`SIGNATURE_SKEW` before ``sent``.  An older scan is certainly not the call's."""
    if (state.status or "").upper() in RUNNING:
        return True
    return state.completed_at is not None and state.completed_at >= sent - SIGNATURE_SKEW


def start_scan(
    call: Callable[[], dict[str, Any]],
    read_state: Callable[[], ScanState],
    refused: Callable[[AwsError], ScanStart],
    sent: datetime,
) -> ScanStart:
    """One image's StartImageScan (``call``, retried on throttling only), made again
    after an unknown outcome only when ``read_state`` shows no scan since ``sent`` (the
    time the first call was sent).  ``refused`` is the outcome of a refusal."""
    lost: AwsError | None = None
    for _ in range(MAX_START_CALLS):
        if lost is not None:
            seen = _seen(read_state, sent, lost)
            if seen is not None:
                return seen
        try:
            response = call()
        except AwsError as exc:
            if exc.kind in UNKNOWN_OUTCOME:
                lost = exc
                continue
            if lost is not None:  # the lost call may have landed since the last read
                seen = _seen(read_state, sent, lost)
                if seen is not None:
                    return seen
            return refused(exc)
        status = response.get("imageScanStatus", {}).get("status")
        return ScanStart(Outcome.STARTED, "", status)  # the reply is the proof
    assert lost is not None
    seen = _seen(read_state, sent, lost)
    if seen is not None:
        return seen
    return ScanStart(
        Outcome.NOT_STARTED,
        f"{MAX_START_CALLS} calls, no reply and no scan in the scan state: {lost.problem}",
    )


def _seen(read_state: Callable[[], ScanState], sent: datetime, lost: AwsError) -> ScanStart | None:
    """After a lost reply: "scanned meanwhile" when the scan state shows a scan since
    ``sent``, a failure when it cannot be read, ``None`` when it shows none."""
    try:
        state = read_state()
    except AwsError as exc:
        detail = f"reply lost ({lost.problem}); could not read the scan state: {exc.problem}"
        return ScanStart(Outcome.FAILED, detail)
    if not scan_started_since(state, sent):
        return None
    return ScanStart(
        Outcome.SCANNED_MEANWHILE, f"reply lost ({lost.problem.code}); {MEANWHILE}", state.status
    )
