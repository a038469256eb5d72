"""CSV: one row per finding and image, with a header row.  Tags are joined with ``;``;
an empty ``ignored_reason`` means the finding counts against the thresholds; ``platform``
and ``index_digest`` are empty unless the image is one platform of an image index."""

from __future__ import annotations

import csv as _csv
import io

from ecrscan.core.model import ReportResult
from ecrscan.core.view import DEFAULT_VIEW, View
from ecrscan.render.common import listed_findings, listed_images

COLUMNS = (
    "repository",
    "tags",
    "digest",
    "id",
    "severity",
    "package",
    "version",
    "fixed_in",
    "score",
    "ignored_reason",
    "platform",
    "index_digest",
)


def report_csv(result: ReportResult, view: View = DEFAULT_VIEW) -> str:
    buffer = io.StringIO()
    writer = _csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for report in listed_images(result, view):
        for finding in listed_findings(view, report):
            writer.writerow(
                (
                    report.image.repository,
                    ";".join(report.image.tags),
                    report.image.digest,
                    finding.id,
                    finding.severity.value,
                    finding.package,
                    finding.version,
                    finding.fixed_in,
                    f"{finding.score:g}" if finding.score is not None else "",
                    finding.ignored or "",
                    report.image.platform,
                    report.image.index_digest,
                )
            )
    return buffer.getvalue()
