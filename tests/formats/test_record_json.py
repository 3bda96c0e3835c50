"""The JSON records the lakehouse writes and reads back (here a cached contract results entry,
which also reads the bare list written before records were versioned): a damaged one, however
it is damaged, is refused as damaged in one sentence naming its file, never a traceback."""

from __future__ import annotations

import pytest

from lakehouse.contracts.records import ContractResults
from lakehouse.errors import IntegrityError
from lakehouse.records import DAMAGED

WHERE = "cache/p/m/abc.contract-def.json"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"[" * 100_000, "nested too deep"),
        (b'{"results": ' * 100_000, "nested too deep"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'"a string"', "not a JSON object"),
    ],
    ids=["open arrays", "open objects", "closed arrays", "broken", "not utf-8", "a string"],
)
def test_a_damaged_contract_results_entry_is_reported_as_damaged(data: bytes, said: str) -> None:
    with pytest.raises(IntegrityError, match=said) as raised:
        ContractResults.from_json(data, WHERE)
    message = str(raised.value)
    assert message.startswith(WHERE) and message.endswith(f"; {DAMAGED}.")


def test_a_bare_list_of_results_still_reads() -> None:
    assert ContractResults.from_json(b"[]", WHERE).rule_results() == []
