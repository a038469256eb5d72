"""Finding facts from the catalogues the user gave (pure): EPSS from FIRST's CSV
(``--epss-file``), known exploited from CISA's KEV catalogue (``--kev-file``).

What the scanner said wins: an enhanced finding's EPSS (Amazon Inspector's, read in bulk
by finding ARN: :func:`with_scanner_epss`) is kept; the file fills in the findings that
have none (basic scans never have one).  KEV is a fact
about the CVE, so every finding whose id the catalogue lists carries its entry.  The
gates of what matters (known exploited, likely exploited, exploit available) judge
these fields; nothing here judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ecrscan.core.feeds import EpssTable, KevCatalog
from ecrscan.core.model import Finding


@dataclass(frozen=True)
class Facts:
    """The catalogues of one run (either may be absent)."""

    epss: EpssTable | None = None
    kev: KevCatalog | None = None

    def __bool__(self) -> bool:
        return self.epss is not None or self.kev is not None

    def finding(self, finding: Finding) -> Finding:
        """``finding`` with what the catalogues know of its id (unchanged otherwise)."""
        changes: dict[str, object] = {}
        if self.epss is not None and finding.epss is None:
            found = self.epss.get(finding.id)
            if found is not None:
                changes.update(epss=found.score, epss_percentile=found.percentile)
        if self.kev is not None and finding.kev is None:
            entry = self.kev.get(finding.id)
            if entry is not None:
                changes["kev"] = entry
        return replace(finding, **changes) if changes else finding  # type: ignore[arg-type]

    def findings(self, findings: Iterable[Finding]) -> tuple[Finding, ...]:
        return tuple(self.finding(f) for f in findings)


NO_FACTS = Facts()


def with_scanner_epss(
    findings: Iterable[Finding], scores: Mapping[str, float]
) -> tuple[Finding, ...]:
    """``findings`` with Amazon Inspector's EPSS score, by finding ARN (ListFindings
    has it, ECR's enhanced findings do not), where a finding has none yet."""
    return tuple(
        replace(f, epss=scores[f.arn]) if f.epss is None and f.arn and f.arn in scores else f
        for f in findings
    )
