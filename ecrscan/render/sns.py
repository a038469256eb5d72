"""SNS notifications: a pure message builder (publishing is :mod:`ecrscan.aws.sns`).

:func:`build_messages` turns image reports into SNS messages for
``MessageStructure="json"``: a short ``default`` text (what SQS, Lambda and HTTP
subscribers receive) and a fuller ``email`` body with counts against thresholds for each
image.  One logical message per run lists every breaching image; when it would pass the
SNS size limit the image list is split over several messages ("part i/n"), none lost.
Given what changed since the last notification, it lists only that (new or changed
breaches, images back within thresholds).  The reporter Lambda function
publishes :func:`event_messages` for a single image.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ecrscan.core.events import ScanEvent
from ecrscan.core.model import ImageReport, ImageStatus
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.core.words import agree, plural
from ecrscan.render.common import (
    breach_text,
    count,
    ignored_count,
    image_label,
    image_name,
    image_uri,
    tags_text,
    verdict_reasons,
    verdict_text,
)

SNS_MAX_BYTES = 262_144
SUBJECT_MAX_CHARS = 99  # SNS: "less than 100 characters"
MAX_TAGS_SHOWN = 10

_BREACHES, _RESOLVED, _NOT_ASSESSED = 0, 1, 2
_EMAIL_HEADINGS = {
    _BREACHES: "\nImages above thresholds\n=======================\n",
    _RESOLVED: "\nImages back within thresholds\n=============================\n",
    _NOT_ASSESSED: "\nImages not assessed\n===================\n",
}
_DEFAULT_HEADINGS = {
    _BREACHES: "",
    _RESOLVED: "Back within thresholds:\n",
    _NOT_ASSESSED: "Not assessed:\n",
}


@dataclass(frozen=True)
class SnsMessage:
    """One SNS publication: ``message`` is the JSON document for
    ``MessageStructure="json"`` (keys ``default`` and ``email``)."""

    subject: str
    message: str

    @property
    def size(self) -> int:
        return len(self.message.encode("utf-8"))


@dataclass(frozen=True)
class _Entry:
    section: int
    default: str
    email: str

    @property
    def size(self) -> int:
        return _escaped_size(self.default) + _escaped_size(self.email)


def build_messages(
    reports: Sequence[ImageReport],
    thresholds: Thresholds,
    *,
    changed: Sequence[ImageReport] | None = None,
    resolved: Sequence[ImageReport] = (),
    always: bool = False,
    title: str = "ecrscan",
    region: str | None = None,
    max_bytes: int = SNS_MAX_BYTES,
    generated_at: datetime | None = None,
) -> list[SnsMessage]:
    """The messages to publish for ``reports``, split into parts of at most
    ``max_bytes`` (UTF-8 bytes of the JSON message) when needed.

    Without ``changed``: none when no image breaches (unless ``always``, then one "no
    breaches" message), otherwise one listing every breaching image and every image
    that could not be assessed.

    With ``changed`` (a run that notifies on change): the images that newly breach or
    breach differently, and ``resolved`` (back within thresholds), among all the
    ``reports`` judged, with the images that could not be assessed; none when nothing
    changed (unless ``always``: then a "no changes" message).

    Raises ``ValueError`` when ``max_bytes`` cannot hold even one image.
    """
    if changed is None:
        listed: Sequence[ImageReport] = [r for r in reports if r.status is ImageStatus.BREACH]
    else:
        listed = changed
    if not listed and not resolved and not always:
        return []
    builder = _Builder(reports, listed, resolved, thresholds, title, region, generated_at)
    builder.changes = changed is not None
    return builder.messages(max_bytes)


def event_messages(
    scan: ScanEvent, report: ImageReport, thresholds: Thresholds, *, resolved: bool = False
) -> list[SnsMessage]:
    """The SNS messages the reporter publishes for one evaluated event (whether to
    publish at all is :func:`ecrscan.core.events.wants_notification`'s call, or the
    change since the last notification); ``resolved``: the image is back within its
    thresholds."""
    region = scan.region or None
    if resolved:
        return build_messages([report], thresholds, changed=[], resolved=[report], region=region)
    return build_messages([report], thresholds, always=True, region=region)


# -- entries -------------------------------------------------------------------------


def _breach_entry(report: ImageReport, thresholds: Thresholds, region: str | None) -> _Entry:
    name = _clean(image_name(report))
    compact = [f"{b.severity.value} {b.count}>{b.threshold}" for b in report.breaches]
    breaches = ", ".join(compact + _gate_reasons(report))  # the thresholds', then KEV
    return _Entry(
        _BREACHES,
        default=f"- {name}: {breaches}\n",
        email=_image_block(report, thresholds, region),
    )


def _resolved_entry(report: ImageReport, thresholds: Thresholds, region: str | None) -> _Entry:
    line = f"- {_clean(image_name(report))}: back within thresholds\n"
    return _Entry(_RESOLVED, default=line, email=_image_block(report, thresholds, region))


def _image_heading(report: ImageReport) -> str:
    """``repo  (tag1, tag2)``; a platform image of an index by its label."""
    image = report.image
    if image.platform:
        return _clean(image.label)
    tags = _clean(tags_text(image.tags, MAX_TAGS_SHOWN)) or "untagged"
    return f"{_clean(image.repository)}  ({tags})"


def _image_block(report: ImageReport, thresholds: Thresholds, region: str | None) -> str:
    """An image in the e-mail: tags, pull reference, scan time, each count against its
    threshold, the findings ignored."""
    lines = [
        "",
        _image_heading(report),
        f"  image:   {_clean(image_uri(report, region))}",
    ]
    if report.state is not None and report.state.completed_at is not None:
        lines.append(f"  scanned: {report.state.completed_at.isoformat()}")
    for severity in Severity:
        value = count(report.counts, severity)
        limit = thresholds.limit(severity)
        if not value and limit is None:
            continue
        shown = "off" if limit is None else str(limit)
        flag = "  BREACH" if limit is not None and value > limit else ""
        lines.append(f"  {severity.value:<14}{value:>6}   threshold {shown}{flag}")
    lines += [f"  breach:  {_clean(r)}" for r in _gate_reasons(report)]  # KEV: ...
    ignored = ignored_count(report)
    if ignored:
        lines.append(f"  ignored: {plural(ignored, 'finding')} by the ignore file or a gate")
    return "\n".join(lines) + "\n"


def _gate_reasons(report: ImageReport) -> list[str]:
    """The reasons of a breach that are no threshold's (``KEV: CVE-…, due …``)."""
    return [r for r in verdict_reasons(report) if r not in map(breach_text, report.breaches)]


def _problem_entry(report: ImageReport) -> _Entry:
    line = f"- {_clean(image_name(report))}: {_clean(verdict_text(report))}\n"
    return _Entry(_NOT_ASSESSED, default=line, email=line)


# -- messages ------------------------------------------------------------------------


class _Builder:
    """Renders a message from a list of entries; ``overhead`` is the exact size of
    everything but the entries and section headings, for the widest part label.
    ``changes``: a notify-on-change message (``breaching`` are the new or changed
    breaches, ``resolved`` the images back within thresholds)."""

    def __init__(
        self,
        reports: Sequence[ImageReport],
        breaching: Sequence[ImageReport],
        resolved: Sequence[ImageReport],
        thresholds: Thresholds,
        title: str,
        region: str | None,
        generated_at: datetime | None,
    ) -> None:
        self.title = _clean(title) or "ecrscan"
        self.region = _clean(region or "")
        self.total = len(reports)
        self.breach_total = sum(1 for r in reports if r.status is ImageStatus.BREACH)
        self.breaching = breaching
        self.resolved = resolved
        self.problems = [r for r in reports if r.status not in (ImageStatus.OK, ImageStatus.BREACH)]
        self.thresholds = thresholds
        self.generated_at = generated_at
        self.changes = False

    def messages(self, max_bytes: int) -> list[SnsMessage]:
        """Every entry in one message, or split into parts of at most ``max_bytes``."""
        region = self.region or None
        entries = [_breach_entry(r, self.thresholds, region) for r in self.breaching]
        entries += [_resolved_entry(r, self.thresholds, region) for r in self.resolved]
        entries += [_problem_entry(r) for r in self.problems]
        single = self.render(entries, 1, 1)
        if single.size <= max_bytes:
            return [single]
        chunks = _pack(entries, self.overhead(len(entries)), max_bytes)
        return [self.render(chunk, i, len(chunks)) for i, chunk in enumerate(chunks, 1)]

    def overhead(self, max_parts: int) -> int:
        return self.render([], max_parts, max_parts).size

    def render(self, entries: Sequence[_Entry], part: int, parts: int) -> SnsMessage:
        part_label = f"(part {part}/{parts})" if parts > 1 else ""
        default = [f"{self.title}: {_joined(self._summary(), part_label)}\n"]
        email = [self._email_header(part_label)]
        section = None
        for entry in entries:
            if entry.section != section:
                section = entry.section
                default.append(_DEFAULT_HEADINGS[section])
                email.append(_EMAIL_HEADINGS[section])
            default.append(entry.default)
            email.append(entry.email)
        email.append(f"\n-- \nThresholds: {self._thresholds()}\n")
        body = {"default": "".join(default), "email": "".join(email)}
        return SnsMessage(self._subject(part_label), json.dumps(body, ensure_ascii=False))

    def _summary(self) -> str:
        """The run in one sentence, without the title."""
        breached = len(self.breaching)
        where = f" in {self.region}" if self.region else ""
        if self.changes:
            text = self._change_summary(where)
        elif breached:
            text = (
                f"{breached} of {plural(self.total, 'image')} {agree(breached, 'breaches')} "
                f"vulnerability thresholds{where}"
            )
        else:
            text = f"no image breaches vulnerability thresholds{where} ({self.total} checked)"
        if self.problems:
            text += f"; {len(self.problems)} not assessed"
        return text + "."

    def _change_summary(self, where: str) -> str:
        parts = []
        if self.breaching:
            parts.append(
                plural(len(self.breaching), "new or changed breach", "new or changed breaches")
            )
        if self.resolved:
            parts.append(f"{plural(len(self.resolved), 'image')} back within thresholds")
        changes = " and ".join(parts) or "no new or changed breach, none back within thresholds"
        return f"{changes}{where} ({self.total} checked, {self.breach_total} breaching)"

    def _email_header(self, part_label: str) -> str:
        lines = [
            f"{self.title} vulnerability report" + (f" ({self.region})" if self.region else "")
        ]
        if self.generated_at is not None:
            lines.append(f"Generated at {self.generated_at.isoformat()}")
        lines.append(_joined(self._summary(), part_label))
        return "\n".join(lines) + "\n"

    def _thresholds(self) -> str:
        limits = self.thresholds.describe()
        on = ", ".join(f"{name} {limit}" for name, limit in limits.items() if limit is not None)
        return on or "all off"

    def _subject(self, part_label: str) -> str:
        where = f" [{self.region}]" if self.region else ""
        base = self._change_subject() if self.changes else self._run_subject()
        return subject_line(f"{self.title}: {base}{where}", part_label)

    def _run_subject(self) -> str:
        if len(self.breaching) == 1:
            return f"{image_label(self.breaching[0])} breaches vulnerability thresholds"
        if self.breaching:
            return f"{len(self.breaching)} images breach vulnerability thresholds"
        if len(self.problems) == 1:
            problem = self.problems[0]
            return f"{image_label(problem)} not assessed ({problem.status.value.replace('_', ' ')})"
        if self.problems:
            return f"no breaches, {len(self.problems)} of {self.total} images not assessed"
        return f"no breaches, {plural(self.total, 'image')} checked"

    def _change_subject(self) -> str:
        changed, resolved = len(self.breaching), len(self.resolved)
        if changed and resolved:
            return f"{changed} new or changed, {resolved} back within thresholds"
        if changed:
            return self._run_subject() if changed == 1 else f"{changed} new or changed breaches"
        if resolved == 1:
            return f"{image_label(self.resolved[0])} back within thresholds"
        if resolved:
            return f"{resolved} images back within thresholds"
        return f"no changes, {plural(self.total, 'image')} checked"


def subject_line(text: str, suffix: str = "") -> str:
    """An SNS subject: printable ASCII, one line, under 100 characters (``suffix`` is
    kept whole after a space, ``text`` shortened with "..." when needed)."""
    text = _ascii(text) or "ecrscan"
    suffix = _ascii(suffix)
    room = SUBJECT_MAX_CHARS - (len(suffix) + 1 if suffix else 0)
    if len(text) > room:
        text = text[: room - 3].rstrip() + "..."
    return _joined(text, suffix)


def _joined(text: str, suffix: str) -> str:
    return f"{text} {suffix}" if suffix else text


def _pack(entries: Sequence[_Entry], overhead: int, max_bytes: int) -> list[list[_Entry]]:
    """Greedy split of ``entries`` (already grouped by section) into chunks whose
    rendered size stays within ``max_bytes``.  JSON string escaping is per character, so
    sizes add up exactly."""
    chunks: list[list[_Entry]] = []
    current: list[_Entry] = []
    used = overhead
    for entry in entries:
        extra = entry.size + _heading_size(entry.section, current)
        if current and used + extra > max_bytes:
            chunks.append(current)
            current, used = [], overhead
            extra = entry.size + _heading_size(entry.section, current)
        if used + extra > max_bytes:
            raise ValueError(
                f"an SNS message of {max_bytes} bytes cannot hold the entry for one image "
                f"({overhead + extra} bytes needed)"
            )
        current.append(entry)
        used += extra
    if current:
        chunks.append(current)
    return chunks


def _heading_size(section: int, current: Sequence[_Entry]) -> int:
    if current and current[-1].section == section:
        return 0
    return _escaped_size(_DEFAULT_HEADINGS[section]) + _escaped_size(_EMAIL_HEADINGS[section])


def _escaped_size(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def _clean(text: str) -> str:
    """One line of text: control characters (newlines included) become spaces, text that
    cannot be encoded (lone surrogates) becomes "?"."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _ascii(text: str) -> str:
    cleaned = "".join(c if 32 <= ord(c) < 127 else ("?" if c.isprintable() else " ") for c in text)
    return " ".join(cleaned.split())
