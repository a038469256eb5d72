"""Pull recency: keep the images pulled within a window (pure, no clock of its own).

The date is ECR's ``lastRecordedPullTime``, which AWS refreshes at most about once a day
per image, so windows shorter than a day are approximate.  Images never pulled have no
date: they are left out and counted apart from the stale ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from ecrscan.core.model import Image


class Recency(NamedTuple):
    kept: list[Image]  # pulled at or after now - delta, in the order given
    never_pulled: int  # no lastRecordedPullTime
    stale: int  # last pulled before now - delta


def pulled_within(
    images: Iterable[Image], now: datetime, delta: relativedelta | timedelta
) -> Recency:
    """Split ``images`` by ``last_pulled_at`` against ``now - delta`` (inclusive: an image
    pulled exactly at the cut-off is kept).  ``now`` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cutoff = now - delta
    kept: list[Image] = []
    never = stale = 0
    for image in images:
        if image.last_pulled_at is None:
            never += 1
        elif image.last_pulled_at >= cutoff:
            kept.append(image)
        else:
            stale += 1
    return Recency(kept, never, stale)
