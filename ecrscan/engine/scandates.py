"""One target's use of the scan-date cache in a rescan (:mod:`ecrscan.core.scancache`
has the rules): the images it vouches for get their state from it and are not read;
the completed scans the run read are remembered for the next run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime

from dateutil.relativedelta import relativedelta

from ecrscan.core.model import CacheUse, Image, ImageResult, ScanType
from ecrscan.core.scancache import SOURCE, CachedScan, ScanKey, entry_of, key_of, vouch
from ecrscan.engine.ports import ScanDateCache


class CacheRun:
    """The cache as one target's rescan uses it (``cache`` None: no cache; a registry
    with enhanced scanning never consults it).  Called from the calling thread only."""

    def __init__(
        self,
        cache: ScanDateCache | None,
        region: str,
        now: datetime,
        expiry: relativedelta,
        scan_type: ScanType,
    ) -> None:
        self.cache = cache
        self.consulted = cache is not None and scan_type is ScanType.BASIC
        self.region = region
        self.now = now
        self.expiry = expiry
        self.notices: list[str] = []

    def vouched(self, images: Sequence[Image]) -> list[Image]:
        """``images``, those the cache vouches for with their state from it."""
        if self.cache is None or not self.consulted or not images:
            return list(images)
        keys = [key_of(image, self.region) for image in images if image.summary is None]
        found, notices = self.cache.recall(keys) if keys else ({}, [])
        self.notices.extend(notices)
        if not found:
            return list(images)
        now = self.now
        return [
            dataclasses.replace(image, summary=state)
            if (state := vouch(found.get(key_of(image, self.region)), image, now, self.expiry))
            else image
            for image in images
        ]

    def finish(self, results: Iterable[Iterable[ImageResult]]) -> CacheUse | None:
        """Remember the completed scans the run read (``results``: each repository's);
        what the cache saved."""
        if self.cache is None:
            return None
        saved = 0
        entries: dict[ScanKey, CachedScan] = {}
        for result in (r for repository in results for r in repository):
            if result.state is not None and result.state.source == SOURCE:
                saved += 1
            elif self.consulted and (entry := entry_of(result)) is not None:
                entries[key_of(result.image, self.region)] = entry
        if self.consulted:
            self.notices.extend(self.cache.remember(entries, self.now))
        return CacheUse(saved, self.cache.location)
