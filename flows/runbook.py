"""What a run did, file by file: its audit row's counts, its verdict and its artifact.

The flow body keeps the book: each step returns what it produced and the flow writes it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from prefect.states import Completed, Failed, State

from cakupan.ingest.audit import LOADED, REJECTED, FileOutcome
from cakupan.ingest.read.masking import escaped, listed
from cakupan.warehouse.freshness import Freshness
from cakupan.warehouse.publications import Publication
from cakupan.warehouse.runs import COMPLETED, FAILED


@dataclass
class RunBook:
    run_id: str
    flow: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    as_of: date | None = None
    freshness: Freshness | None = None  # nightly only

    def record(self, outcomes: list[FileOutcome]) -> None:
        self.outcomes.extend(outcomes)

    @property
    def stale(self) -> str | None:
        """The one-line message of a stale delivery, or None."""
        return self.freshness.stale_message() if self.freshness else None

    @property
    def loaded(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == LOADED]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == REJECTED]

    @property
    def publication(self) -> Publication:
        return Publication(self.run_id, self.flow, len(self.loaded), len(self.rejected))

    @property
    def state(self) -> str:
        """audit.runs.state of a run that got to its end."""
        return FAILED if self.rejected or self.stale else COMPLETED

    def verdict(self) -> State:
        if self.rejected:
            # Message only: the engine raises a failed state's data, and a RunBook is no exception.
            return Failed(message=f"{len(self.rejected)} file(s) rejected: {listed([o.name for o in self.rejected])}")
        if self.stale:
            return Failed(message=self.stale)
        return Completed(message=f"{len(self.loaded)} file(s) loaded, as of {self.as_of}", data=self)

    def summary_markdown(self) -> str:
        quarantined = sum(o.rows_quarantined or 0 for o in self.loaded)
        lines = [
            f"# Cakupan run `{self.run_id}`",
            "",
            f"- files loaded: **{len(self.loaded)}** ({sum(o.rows_loaded or 0 for o in self.loaded):,} rows)",
            f"- rows quarantined: **{quarantined:,}** (see `audit.quarantine`)",
            f"- files rejected: **{len(self.rejected)}**",
            f"- as of: **{self.as_of or '-'}**",
        ]
        if self.freshness:
            lines.append(f"- deliveries: **{self.freshness.level}**")
            lines += [f"  - {problem}" for problem in self.freshness.problems()]
        if self.rejected:
            lines += ["", "| rejected file | reason |", "|---|---|"]
            lines += [f"| {_cell(o.name)} | {_cell(o.reason or '')} |" for o in self.rejected]
        return "\n".join(lines)


def _cell(text: str) -> str:
    """Untrusted text as one cell of a Markdown table."""
    return escaped(text).replace("|", "\\|")
