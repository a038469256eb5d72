"""The CLI's scan-date cache: one small JSON file per (partition, account, region,
endpoint) under ``$XDG_CACHE_HOME/ecrscan`` (default ``~/.cache/ecrscan``) or
``--cache-dir``.

Files are replaced atomically (a temporary file renamed over the old one), so a reader
sees the old file or the new one, never half; concurrent runs each merge their entries
into the file as they find it just before writing, and the last writer wins.  A file
that cannot be read or is not a cache of this version is ignored with one notice (the
images are read as if nothing were cached) and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from ecrscan.cli.output import write_atomically
from ecrscan.core.scancache import (
    CachedScan,
    CacheUnreadable,
    ScanKey,
    dump,
    load,
    partition_of,
    prune,
    store_header,
)

APP_DIRECTORY = "ecrscan"


def default_directory(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/ecrscan``, else ``~/.cache/ecrscan`` (a relative
    ``XDG_CACHE_HOME`` is ignored, as the XDG specification says)."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not base or not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / APP_DIRECTORY


class FileScanDates:
    """The scan-date cache in ``directory``, for the registries of ``endpoint`` ("":
    AWS's own).  Thread-safe: the targets of one run share it."""

    def __init__(self, directory: Path, endpoint: str = "") -> None:
        self.directory = directory
        self.endpoint = endpoint
        self._lock = threading.Lock()
        self._files: dict[Path, dict[str, CachedScan]] = {}
        self._unreadable: dict[Path, tuple[str, str]] = {}  # -> (account, region)

    @property
    def location(self) -> str:
        return str(self.directory)

    def path(self, account: str, region: str) -> Path:
        """The file of one registry (the partition and endpoint hashed into its name)."""
        tag = hashlib.sha256(f"{partition_of(region)}\n{self.endpoint}".encode()).hexdigest()
        return self.directory / f"scan-dates-{account or 'default'}-{region}-{tag[:12]}.json"

    def recall(self, keys: Sequence[ScanKey]) -> tuple[dict[ScanKey, CachedScan], list[str]]:
        found: dict[ScanKey, CachedScan] = {}
        notices: list[str] = []
        for (account, region), group in _by_registry(keys).items():
            with self._lock:
                entries = self._entries(account, region, notices)
            for key in group:
                entry = entries.get(_entry_key(key))
                if entry is not None:
                    found[key] = entry
        return found, notices

    def remember(self, entries: Mapping[ScanKey, CachedScan], now: datetime) -> list[str]:
        notices: list[str] = []
        groups = _by_registry(entries)
        with self._lock:
            for registry in list(self._unreadable.values()):
                groups.setdefault(registry, [])  # rewritten even with nothing new
        for (account, region), group in groups.items():
            with self._lock:
                path = self.path(account, region)
                current = self._entries(account, region, notices)
                merged = dict(current)
                on_disk = self._read(path, account, region)  # what other runs wrote since
                if on_disk is not None:
                    merged.update(on_disk)
                merged.update({_entry_key(k): entries[k] for k in group})
                merged = prune(merged, now)
                if merged == current and path not in self._unreadable:
                    continue
                try:
                    self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                    write_atomically(path, dump(self._header(account, region), merged))
                except OSError as exc:
                    notices.append(f"scan-date cache {path} could not be written ({exc})")
                    continue
                self._files[path] = merged
                self._unreadable.pop(path, None)
        return notices

    def _header(self, account: str, region: str) -> dict[str, str]:
        return store_header(partition_of(region), account, region, self.endpoint)

    def _entries(self, account: str, region: str, notices: list[str]) -> dict[str, CachedScan]:
        """The file's entries, read once per run (the lock held)."""
        path = self.path(account, region)
        if path not in self._files:
            try:
                entries = self._read(path, account, region, strict=True)
            except (OSError, CacheUnreadable) as exc:
                notices.append(
                    f"scan-date cache {path} ignored ({exc}): its images are read; "
                    "the file is rewritten"
                )
                self._unreadable[path] = (account, region)
                entries = None
            self._files[path] = entries or {}
        return self._files[path]

    def _read(
        self, path: Path, account: str, region: str, strict: bool = False
    ) -> dict[str, CachedScan] | None:
        """The entries of ``path`` (None: no file; unless ``strict``, None too when it
        cannot be read)."""
        try:
            text = path.read_text(encoding="utf-8")
            return load(text, self._header(account, region))
        except FileNotFoundError:
            return None
        except (OSError, CacheUnreadable, UnicodeDecodeError) as exc:
            if strict:
                raise CacheUnreadable(str(exc)) from None
            return None


def _entry_key(key: ScanKey) -> str:
    return f"{key.repository}@{key.digest}"


def _by_registry(
    keys: Sequence[ScanKey] | Mapping[ScanKey, object],
) -> dict[tuple[str, str], list[ScanKey]]:
    groups: dict[tuple[str, str], list[ScanKey]] = defaultdict(list)
    for key in keys:
        groups[(key.account, key.region)].append(key)
    return groups
