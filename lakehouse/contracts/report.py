"""The results of a contract's checks: per rule pass/fail, failing rows and sample rows (each
by its key and identifying columns), the rules that could not be checked and why, and what to
do about a failure (`fix_advice`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lakehouse.records import STRICT_PART

if TYPE_CHECKING:
    from lakehouse.store.storage import Store

SAMPLE_KEYS = 5
FAILURE_SAMPLES = 3  # sample rows a failure sentence shows (the report keeps SAMPLE_KEYS)
STRUCTURE_KINDS = frozenset({"columns", "types"})  # rules whose "rows" are columns at fault
Severity = Literal["error", "warn"]


@dataclass
class RuleResult:
    __pydantic_config__ = STRICT_PART  # read back as part of a record

    table: str
    rule: str
    column: str | None
    kind: str
    detail: str
    severity: Severity
    passed: bool
    failing_rows: int
    sample_keys: list[dict[str, Any]] = field(default_factory=list)
    layer: str = ""

    def failure_text(self, limit: int = FAILURE_SAMPLES) -> str:
        """The rule, for a sentence on the console: what it asks, how many rows break it and
        the first `limit` of them by their key, their identifying columns (the dictionary's
        `sample_columns`) and the value at fault (`pluto_lite.yearbuilt: range (between 1800
        and 2026) fails on 2 rows, e.g. bbl=1000019998 address="1 MAIN ST" yearbuilt=2031;
        ...`); a rule on the columns says what is wrong with them."""
        text = f"{self.table}.{self.rule} ({self.detail})"
        if self.passed:
            return text
        shown = "; ".join(row_text(row) for row in self.sample_keys[:limit])
        if self.kind in STRUCTURE_KINDS:
            return f"{text} fails: {shown}" if shown else f"{text} fails"
        rows = f"{self.failing_rows:,} row{'' if self.failing_rows == 1 else 's'}"
        if not shown:
            return f"{text} fails on {rows}"
        # ":" when the samples are the failing rows (a uniqueness rule shows every row sharing
        # a value: more rows than break it)
        more = ":" if self.failing_rows == min(limit, len(self.sample_keys)) else ", e.g."
        return f"{text} fails on {rows}{more} {shown}"


def row_text(row: dict[str, Any]) -> str:
    """A sample row as `column=value` pairs (text quoted, as JSON writes it)."""
    return " ".join(f"{column}={json.dumps(value, default=str)}" for column, value in row.items())


def fix_advice(rule_files: list[str]) -> str:
    """What to do about failing rules, naming the files they are written in: the data or the
    transform may be wrong, and so may the rule (`fix the transform or the data, or the rule in
    contracts/p/dictionary.yml if the rule is wrong`)."""
    if not rule_files:
        return "fix the transform or the data"
    files = " or ".join(dict.fromkeys(rule_files))
    return f"fix the transform or the data, or the rule in {files} if the rule is wrong"


@dataclass(frozen=True)
class UncheckedRule:
    """A rule that could not be checked (e.g. a reference to a table the build did not keep),
    and why."""

    table: str
    rule: str
    detail: str
    reason: str

    def text(self) -> str:
        return f"{self.table}.{self.rule} ({self.detail}) not checked: {self.reason}"


@dataclass
class ContractReport:
    layer: str
    results: list[RuleResult] = field(default_factory=list)
    unchecked: list[UncheckedRule] = field(default_factory=list)
    rule_files: list[str] = field(default_factory=list)  # where its rules are written

    def advice(self) -> str:
        """What to do when it does not pass (`fix_advice` of its rule files)."""
        return fix_advice(self.rule_files)

    @property
    def blocking(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "error"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def failure_text(self, limit: int = FAILURE_SAMPLES) -> str:
        """Every blocking rule's `RuleResult.failure_text`, joined by `; `: what a build or an
        ingest that stops says on the console (the report file has every rule)."""
        return "; ".join(result.failure_text(limit) for result in self.blocking)

    def summary(self) -> str:
        failed = [r for r in self.results if not r.passed]
        return (
            f"{len(self.results) - len(failed)}/{len(self.results)} checks passed"
            + (f", {len(self.blocking)} blocking" if self.blocking else "")
            + (f", {len(self.warnings)} warning(s)" if self.warnings else "")
            + (f", {len(self.unchecked)} not checked" if self.unchecked else "")
        )

    def to_text(self) -> str:
        """A line per rule, under a heading per layer when the report spans several."""
        lines = [f"contract report ({self.layer}): {self.summary()}"]
        heading = None
        for result in self.results:
            if result.layer and result.layer != self.layer and result.layer != heading:
                heading = result.layer
                lines += ["", heading]
            elif heading is None and len(lines) == 1:
                lines.append("")
            status = "pass" if result.passed else ("FAIL" if result.severity == "error" else "warn")
            line = f"{status:<5} {result.table}.{result.rule} ({result.detail})"
            if not result.passed:
                keys = ", ".join(json.dumps(k, default=str) for k in result.sample_keys)
                line += f": {result.failing_rows:,} row(s), e.g. {keys}"
            lines.append(line)
        lines += [f"skip  {rule.text()}" for rule in self.unchecked]
        return "\n".join(lines) + "\n"

    def to_rows(self) -> list[dict[str, Any]]:
        rows = []
        for result in self.results:
            row = asdict(result)
            row["sample_keys"] = json.dumps(result.sample_keys, default=str)
            rows.append(row)
        return rows


def store_report(store: Store, folder: str, report: ContractReport) -> str:
    """Write the report into `folder` of the store as report.parquet (a row per rule) and
    report.txt; returns the text file's path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with store.scratch_dir() as scratch:
        local = scratch / "report.parquet"
        pq.write_table(pa.Table.from_pylist(report.to_rows()), local)
        store.put_file(local, f"{folder}/report.parquet", move=True)
    store.write_bytes(f"{folder}/report.txt", report.to_text().encode())
    return f"{folder}/report.txt"
