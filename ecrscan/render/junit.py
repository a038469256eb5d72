"""JUnit XML for CI test reports: one test case per image, failed when it breaches a
threshold, in error when it could not be assessed (no scan, pending, scan failed, AWS
error, not an image).  An image ECR cannot scan is skipped in a registry-wide report, in
error with ``--strict`` or when it was asked for by reference.  A repository that could
not be read is a test case in error too.

Built with :mod:`xml.etree.ElementTree`, which escapes markup; characters XML 1.0
cannot carry at all (most control characters) are replaced first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC

from ecrscan.core.model import ImageReport, ImageStatus, ReportResult
from ecrscan.core.severity import Severity
from ecrscan.core.view import DEFAULT_VIEW, View
from ecrscan.render.common import (
    count,
    image_name,
    incomplete_reason,
    listed_findings,
    listed_images,
    thresholds_text,
    unlisted_count,
    verdict_text,
)

# Characters outside XML 1.0's Char production.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ERROR_STATUSES = (
    ImageStatus.NO_SCAN,
    ImageStatus.PENDING,
    ImageStatus.SCAN_FAILED,
    ImageStatus.ERROR,
    ImageStatus.NOT_AN_IMAGE,
)


def xml_text(value: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(value))


def _in_error(result: ReportResult, view: View, report: ImageReport) -> bool:
    if report.status is ImageStatus.NOT_SCANNABLE:
        return view.strict or result.references
    return report.status in ERROR_STATUSES


def report_junit(result: ReportResult, view: View = DEFAULT_VIEW) -> str:
    cases = [_image_case(result, view, report) for report in listed_images(result, view)]
    cases += [_repository_case(name, str(problem)) for name, problem in result.repository_errors]
    failures = sum(1 for r in result.images if r.status is ImageStatus.BREACH)
    errors = sum(1 for r in result.images if _in_error(result, view, r)) + len(
        result.repository_errors
    )
    skipped = sum(
        1
        for r in result.images
        if r.status is ImageStatus.NOT_SCANNABLE and not _in_error(result, view, r)
    )
    reason = incomplete_reason(result, view)
    if reason is not None and (result.nothing_reported or result.interrupted):
        cases.append(_run_case(reason))
        errors += 1
    counters = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": "ecrscan", **counters, "time": "0"})
    generated = result.generated_at
    if generated.tzinfo is not None:
        generated = generated.astimezone(UTC).replace(tzinfo=None)
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"ecrscan {view.command}" + (f" ({result.region})" if result.region else ""),
            **counters,
            "skipped": str(skipped),
            "time": "0",
            "timestamp": generated.isoformat(timespec="seconds"),
        },
    )
    properties = ET.SubElement(suite, "properties")
    _property(properties, "thresholds", thresholds_text(result))
    if result.region:
        _property(properties, "region", result.region)
    if view.only_breaches:
        _property(properties, "unlisted (within thresholds)", str(unlisted_count(result, view)))
    suite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", {"name": name, "value": xml_text(value)})


def _image_case(result: ReportResult, view: View, report: ImageReport) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": xml_text(report.image.repository),
            "name": xml_text(image_name(report)),
            "time": "0",
        },
    )
    verdict = xml_text(verdict_text(report))
    if report.status is ImageStatus.BREACH:
        failure = ET.SubElement(case, "failure", {"message": verdict, "type": "threshold"})
        failure.text = xml_text(_details(result, view, report))
    elif _in_error(result, view, report):
        error = ET.SubElement(case, "error", {"message": verdict, "type": report.status.value})
        error.text = xml_text(_problem_details(report))
    elif report.status is ImageStatus.NOT_SCANNABLE:
        ET.SubElement(case, "skipped", {"message": verdict})
    else:
        out = ET.SubElement(case, "system-out")
        out.text = xml_text(_details(result, view, report))
    return case


def _run_case(reason: str) -> ET.Element:
    """The run as a whole did not pass: nothing to report, or interrupted."""
    case = ET.Element("testcase", {"classname": "ecrscan", "name": "run", "time": "0"})
    error = ET.SubElement(case, "error", {"message": xml_text(reason), "type": "error"})
    error.text = xml_text(reason)
    return case


def _repository_case(name: str, problem: str) -> ET.Element:
    case = ET.Element("testcase", {"classname": xml_text(name), "name": "repository", "time": "0"})
    error = ET.SubElement(
        case, "error", {"message": xml_text(f"error: {problem}"), "type": "error"}
    )
    error.text = xml_text(f"repository {name} could not be read: {problem}")
    return case


def _details(result: ReportResult, view: View, report: ImageReport) -> str:
    lines = [f"image: {report.image.repository}@{report.image.digest}"]
    if report.image.tags:
        lines.append(f"tags: {', '.join(report.image.tags)}")
    for severity in Severity:
        value = count(report.counts, severity)
        limit = result.thresholds.limit(severity)
        if not value and limit is None:
            continue
        ignored = count(report.raw_counts, severity) - value
        verdict = "" if limit is None or value <= limit else "  BREACH"
        lines.append(
            f"{severity.value}: {value} (threshold {'off' if limit is None else limit})"
            + (f", {ignored} ignored" if ignored > 0 else "")
            + verdict
        )
    for finding in listed_findings(view, report):
        line = (
            f"- {finding.severity.value} {finding.id} {finding.package} {finding.version}".rstrip()
        )
        if finding.fixed_in:
            line += f" (fixed in {finding.fixed_in})"
        if finding.ignored is not None:
            line += f" [ignored: {finding.ignored}]"
        lines.append(line)
    return "\n".join(lines)


def _problem_details(report: ImageReport) -> str:
    lines = [f"image: {report.image.repository}@{report.image.digest}", verdict_text(report)]
    if report.state is not None and report.state.status:
        lines.append(f"scan status: {report.state.status}")
    return "\n".join(lines)
