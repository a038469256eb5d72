"""Inspecting one image for ``report``: read its scan state (and findings when asked),
apply the ignore rules, and judge the counts against the thresholds.  Failures are
values: an AWS error on one image is an ``ERROR`` report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ecrscan.core.artifacts import describe
from ecrscan.core.errors import INTERRUPTED, AwsError, ErrorKind
from ecrscan.core.facts import NO_FACTS, Facts, with_scanner_epss
from ecrscan.core.ignore import IgnoreRule, apply_ignores
from ecrscan.core.imageref import ImageRef
from ecrscan.core.inspector import SOURCE as INSPECTOR_SOURCE
from ecrscan.core.judge import NO_GATES, Gates, judge
from ecrscan.core.model import Finding, Image, ImageReport, ImageStatus, ScanState
from ecrscan.core.problem import Problem
from ecrscan.core.thresholds import Thresholds
from ecrscan.engine.ports import EcrReads
from ecrscan.engine.references import images_of

# A never-scanned image pushed this recently may be waiting for its scan-on-push scan.
NEW_IMAGE_GRACE = timedelta(minutes=15)

COMPLETE_STATUSES = frozenset({"COMPLETE", "ACTIVE"})  # ACTIVE: enhanced, monitored
WAITING_STATUSES = frozenset({"IN_PROGRESS", "PENDING"})


@dataclass(frozen=True)
class Subject:
    """One image to inspect (not an account-region target), the gateway that reads it,
    and its place in the report."""

    gateway: EcrReads
    image: Image
    order: tuple[Any, ...]
    reference: str = ""
    # Amazon Inspector's EPSS scores by finding ARN, read in bulk (enhanced registries)
    epss: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Waiting:
    """An image whose scan has not ended (yet)."""

    target: Subject
    state: ScanState


@dataclass(frozen=True)
class ImageInspector:
    """Per-image work, safe to call from worker threads (it only reads its fields):
    ``thresholds`` judge the counts less what the active ignore ``rules`` accept;
    ``read_findings`` reads every finding; ``wait`` turns a scan still running (or a
    scan-on-push scan not yet registered) into a :class:`Waiting` image."""

    thresholds: Thresholds
    rules: tuple[IgnoreRule, ...]
    now: datetime
    read_findings: bool = False
    wait: bool = False
    ignore_unfixed: bool = False  # findings with no fix available do not count
    # Digests whose scan was just started (or is continuous): with ``wait`` they are
    # waited for even while no scan is registered yet.
    expected: frozenset[str] = frozenset()
    facts: Facts = NO_FACTS  # EPSS and KEV from the user's files, added to each finding
    gates: Gates = NO_GATES  # what matters: --fail-on-kev, --min-epss, --exploitable

    def resolve(
        self, gateway: EcrReads, ref: ImageRef, order: tuple[Any, ...]
    ) -> list[tuple[tuple[Any, ...], ImageReport | Waiting]]:
        """Look the reference up, then inspect each image it names: the image, or the
        platform images of the index it names (ordered by platform after ``order``); an
        artifact is ``NOT_AN_IMAGE``."""
        try:
            images = images_of(gateway, ref)
        except AwsError as exc:
            target = self.placeholder(gateway, ref, order)
            return [(order, self._report(target, None, ImageStatus.ERROR, error=exc.problem))]
        done: list[tuple[tuple[Any, ...], ImageReport | Waiting]] = []
        for image in images:
            at = (*order, image.platform, image.digest) if image.platform else order
            target = Subject(gateway, image, at, str(ref))
            if not image.kind.scannable:
                problem = Problem("NotAnImage", f"{describe(image.kind)}, not a container image")
                done.append(
                    (at, self._report(target, None, ImageStatus.NOT_AN_IMAGE, error=problem))
                )
            else:
                done.append((at, self.inspect(target, first=True)))
        return done

    @staticmethod
    def placeholder(gateway: EcrReads, ref: ImageRef, order: tuple[Any, ...]) -> Subject:
        """The target of a reference whose image was not looked up (or not found)."""
        image = Image(
            repository=ref.repository,
            registry_id=ref.registry_id or gateway.registry_id or "",
            digest=ref.digest or "",
            tags=(ref.tag,) if ref.tag else (),
        )
        return Subject(gateway, image, order, str(ref))

    def not_reached(self, target: Subject) -> ImageReport:
        """An image a stopped run did not read: an error entry, "Interrupted"."""
        problem = Problem(INTERRUPTED, "not read: interrupted")
        return self._report(target, None, ImageStatus.ERROR, error=problem)

    def inspect(self, target: Subject, *, first: bool) -> ImageReport | Waiting:
        """Read the image's scan state (and findings when asked) and judge it.  ``first``:
        the first look at the image, which may take the state its listing (or the bulk
        index) brought; a later look (while waiting) reads the state afresh."""
        image = target.image
        findings: tuple[Finding, ...] | None = None
        try:
            state = image.summary if first else None
            if state is not None and self.read_findings and _settled_clean(state):
                findings = ()  # Inspector counted no finding: nothing to read
            elif self.read_findings and (state is None or _complete(state)):
                findings, state = target.gateway.findings(image)
            elif state is None:
                state = target.gateway.scan_state(image)
        except AwsError as exc:
            status = ImageStatus.ERROR
            if exc.kind in (ErrorKind.IMAGE_ARCHIVED, ErrorKind.UNSUPPORTED_IMAGE):
                status = ImageStatus.SCAN_FAILED
            return self._report(target, None, status, error=exc.problem)

        if state.never_scanned:
            if self.wait and (self._recently_pushed(image) or image.digest in self.expected):
                return Waiting(target, state)
            return self._report(target, state, ImageStatus.NO_SCAN)
        if (state.status or "").upper() in WAITING_STATUSES:
            if self.wait:
                return Waiting(target, state)
            return self._report(target, state, ImageStatus.PENDING)
        if _complete(state):
            return self._judge(target, state, findings)
        if (state.status or "").upper() == UNSUPPORTED:  # ECR's reason in the state
            return self._report(target, state, ImageStatus.NOT_SCANNABLE)
        return self._report(target, state, ImageStatus.SCAN_FAILED)

    def unfinished(self, item: Waiting) -> ImageReport:
        status = ImageStatus.NO_SCAN if item.state.never_scanned else ImageStatus.PENDING
        return self._report(item.target, item.state, status)

    def _recently_pushed(self, image: Image) -> bool:
        return image.pushed_at is not None and self.now - image.pushed_at <= NEW_IMAGE_GRACE

    def _judge(
        self, target: Subject, state: ScanState, findings: tuple[Finding, ...] | None
    ) -> ImageReport:
        if findings is not None:
            if target.epss:
                findings = with_scanner_epss(findings, target.epss)
            if self.facts:
                findings = self.facts.findings(findings)
            if self.rules:
                findings = apply_ignores(findings, target.image.repository, self.rules)
        gates = replace(self.gates, ignore_unfixed=self.gates.ignore_unfixed or self.ignore_unfixed)
        verdict = judge(self.thresholds, gates, findings=findings, counts=state.counts)
        return self._report(
            target,
            state,
            ImageStatus.BREACH if verdict.breached else ImageStatus.OK,
            counts=verdict.counts,
            raw_counts=verdict.raw_counts,
            findings=verdict.findings,
            breaches=verdict.breaches,
            reasons=verdict.reasons,
        )

    def _report(
        self, target: Subject, state: ScanState | None, status: ImageStatus, **fields: Any
    ) -> ImageReport:
        gateway = target.gateway
        return ImageReport(
            image=target.image,
            state=state,
            status=status,
            reference=target.reference,
            account=target.image.registry_id or gateway.registry_id or "",
            region=gateway.region or "",
            waited=self.wait,
            **fields,
        )


UNSUPPORTED = "UNSUPPORTED_IMAGE"  # ECR's scan status for an image it cannot scan


def _settled_clean(state: ScanState) -> bool:
    """A complete scan Amazon Inspector's bulk counts say found nothing."""
    return state.source == INSPECTOR_SOURCE and _complete(state) and not any(state.counts.values())


def _complete(state: ScanState) -> bool:
    return (state.status or "").upper() in COMPLETE_STATUSES
