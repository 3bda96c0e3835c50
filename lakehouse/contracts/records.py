"""The record contract checking writes as JSON, typed and versioned: the results of a model's
contract kept under its fingerprint (`ContractResults`,
`cache/<product>/<model>/<fingerprint>.contract-<contract digest>.json`), reused while neither
the model nor its contract changes."""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar, Self

from lakehouse.contracts.report import RuleResult
from lakehouse.records import WRITES_NON_FINITE, VersionedRecord, as_written


class ContractResults(VersionedRecord):
    """A model's contract results, cached under its fingerprint and the contract's digest."""

    model_config = WRITES_NON_FINITE  # merged with VersionedRecord's

    SCHEMA_VERSION: ClassVar[int] = 1
    DESCRIPTION: ClassVar[str] = "contract results cache entry (.contract-*.json)"

    results: list[RuleResult]

    @classmethod
    def of(cls, results: list[RuleResult]) -> ContractResults:
        return cls(results=as_written([dataclasses.asdict(r) for r in results]))

    def rule_results(self) -> list[RuleResult]:
        return list(self.results)

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Self:
        """As `VersionedRecord.from_json`; a file written before records were versioned is the
        bare list of results, read as version 1."""
        try:
            bare = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            bare = None  # not JSON: refused below as damaged, naming the file
        if isinstance(bare, list):
            data = json.dumps({"schema_version": 1, "results": bare}).encode()
        return super().from_json(data, where)
