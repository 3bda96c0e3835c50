"""The data dictionary's relationship rules: `references: table.column` as a check on a column
(`relationship_check`), whose breaking rows are an anti-join in the engine (`unmatched_rows`),
a query of its own since it reads another table."""

from __future__ import annotations

import functools
from typing import Any

from lakehouse.contracts.report import Severity
from lakehouse.contracts.rules import Rule, RuleCheck

RELATIONSHIP_KIND = "references"


def relationship_check(references: str, referenced: Any, severity: Severity) -> RuleCheck:
    """A data dictionary's `references: table.column` as a check on a column: its values (NULL
    aside) are among the values of `column` in `referenced`, the engine's table that `table`
    names. `check_schema` counts the rows breaking it by an anti-join in the engine (a query of
    its own: it reads another table); pandera's own `validate` runs it as a custom check."""
    return RuleCheck(
        RELATIONSHIP_KIND,
        {"references": references},
        raise_warning=severity == "warn",
        error=f"values in {references}",
        # the table rides in the function, not in the statistics pandera and reports show
        function=functools.partial(_relationship_check_fn, referenced=referenced),
    )


def _relationship_check_fn(data: Any, referenced: Any, references: str) -> Any:
    """A relationship rule as pandera calls a check: on `data.table[data.key]`."""
    return data.table[data.key].isin(referenced[references.split(".")[1]])


def is_relationship_check(check: Any) -> bool:
    function = getattr(check, "_check_fn", None)
    return isinstance(function, functools.partial) and function.func is _relationship_check_fn


def is_relationship(rule: Rule) -> bool:
    return rule.column is not None and is_relationship_check(rule.check)


def unmatched_rows(t: Any, rule: Rule) -> Any:
    """The rows of `t` whose value of the rule's column is not NULL and not found in the
    referenced column."""
    assert rule.column is not None
    referenced = rule.check._check_fn.keywords["referenced"]
    column = rule.check.statistics["references"].split(".")[1]
    # one column under a name of its own: a self-reference joins two distinct relations
    values = referenced.select(_referenced_value=referenced[column])
    present = t.filter(t[rule.column].notnull())
    return present.anti_join(values, present[rule.column] == values._referenced_value)
