"""Rule tests (`lake test`): a product's rules checked on small tables written by hand, as dbt's
unit tests do. Each test gives a few input rows and the rows one model must return; the
models run on DuckDB through ibis, the engine builds use, with nothing archived or cached.

Test files are `transforms/<product>/tests/*.yml` (or .yaml); one file holds several tests:

    defaults:                      # optional: the value a column takes when a row leaves it out
      dof_pts: {bbl: "1000010001", boro: "1", zipcode: "10004", ...}
    tests:
      - name: zipcode_drops_zip4   # unique in the product; `lake test p --select <name>`
        description: the part before the first '-' is kept   # optional
        model: stg_dof_pts         # the model under test
        given:                     # recipe inputs or models -> rows
          dof_pts:
            - {zipcode: "11201-1234"}
        expect:                    # rows of the model's output
          - {bbl: 1000010001, zipcode: "11201"}
      - name: zoning_ranks
        model: zoning_by_lot
        given:
          zoning_lots:             # the mapping form: rows or csv, and types
            csv: zoning.csv        # next to this file: every value text, an empty field null
        expect:                    # the mapping form: order and rows
          order: as_given          # any (the default: rows compared as multisets) | as_given
          rows:
            - {bbl: 1000010001, zonedist1: "R6", zonedist2: null, splitzone: false}

Given tables. A recipe input or a model named under `given:` is that table; a model given is
not computed (a test of `lots` may give `stg_dof_pts` directly). The models the model under
test reads, and are not given, are computed from the given tables; an input that is neither
given nor a model is an error, and so is a given table nothing reads. A row may leave columns
out: they take the file's `defaults` for that table, else null. A column's type comes from
its YAML values: text stays text (raw inputs are text in this project: quote their values,
`"011201"`, since YAML reads 011201 as a number), whole numbers int64, numbers with a point
float64, true/false boolean, unquoted 2024-01-01 a date, 2024-01-01 10:00:00 a timestamp; a
column of nulls only is text; `types: {column: <ibis type>}` casts a column's values, written
as text, to any type (decimal(7, 2), date, geometry from WKT, ...). A column that mixes kinds
(text and numbers) must be given a type.

Expected rows. Only the columns expect lists are compared (every expected row lists the same
ones; a column the output lacks is an error). Values are compared by the output column's type:
numbers by value (1 = 1.0 = a decimal 1.00; a float equals the number Python prints for it:
0.33, not 0.330000001), dates and timestamps from YAML dates or ISO text, a geometry from WKT
(at 6 decimals), null as YAML null; a value of the wrong kind (an unquoted 10004 for a text
column) is an error, not a mismatch. `expect: []`: the model returns no rows.

Results. A test passes, fails (its `diff`: the expected rows not produced and the rows produced
that were not expected, at most 10 of each, or the order when `order: as_given`), or is in error
(a model raised, the engine failed, the test names something that does not exist): `message`
is then one sentence naming the file and the test.

The package: `files` (the file format, loading and selecting tests), `given` (the given tables),
`compare` (expected rows against the output, `RowDiff`), `run` (running tests, `RuleTestResult`).
"""

from __future__ import annotations

from lakehouse.transform.rule_tests.compare import SHOWN_ROWS, RowDiff, compare
from lakehouse.transform.rule_tests.files import (
    DOCS,
    TESTS_FOLDER,
    Expectation,
    GivenTable,
    RuleTest,
    RuleTestFile,
    RuleTestSpec,
    has_rule_tests,
    load_rule_tests,
    no_tests_message,
    rule_test_files,
    select_rule_tests,
)
from lakehouse.transform.rule_tests.given import KINDS, given_table
from lakehouse.transform.rule_tests.run import (
    RuleTestResult,
    Status,
    run_loaded_tests,
    run_rule_test,
    run_rule_tests,
)

__all__ = [
    "DOCS",
    "KINDS",
    "SHOWN_ROWS",
    "TESTS_FOLDER",
    "Expectation",
    "GivenTable",
    "RowDiff",
    "RuleTest",
    "RuleTestFile",
    "RuleTestResult",
    "RuleTestSpec",
    "Status",
    "compare",
    "given_table",
    "has_rule_tests",
    "load_rule_tests",
    "no_tests_message",
    "rule_test_files",
    "run_loaded_tests",
    "run_rule_test",
    "run_rule_tests",
    "select_rule_tests",
]
