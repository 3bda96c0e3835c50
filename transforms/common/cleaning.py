"""Cleaning raw text values, as ibis expressions (PLUTO-lite spec, section 2.1; any product
that reads text sources can use them)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


@ibis.udf.scalar.builtin
def regexp_replace(value: str, pattern: str, replacement: str) -> str:
    """The engine's own regexp_replace, with the three arguments DuckDB and Spark share
    (ibis's `.re_replace` adds DuckDB's 'g' flag, which sqlglot reads back as a position when
    the value is then parsed as a date)."""


def trim_spaces(value: ir.StringValue) -> ir.StringValue:
    """`value` without the ASCII spaces (U+0020) at either end, and nothing else: the same on
    every engine (DuckDB's `trim` also removes no-break and other Unicode spaces, Spark's does
    not; ibis's `.strip()` removes tabs and newlines too). Only the values with a space at an
    end go through the regular expressions (each anchored, so it matches once at most); the
    others are returned as they are, which also spares DuckDB copying every value as its
    `trim` does."""
    padded = value.startswith(" ") | value.endswith(" ")
    trimmed = regexp_replace(regexp_replace(value, "^ +", ""), " +$", "")
    return ibis.ifelse(padded, trimmed, value)


def c(value: ir.StringValue) -> ir.StringValue:
    """Trim ASCII spaces; then '' or exactly 'N/A' becomes NULL."""
    return trim_spaces(value).nullif("").nullif("N/A")


def ct(value: ir.StringValue) -> ir.StringValue:
    """Free text: c(), every run of spaces becomes one space, upper case."""
    return c(value).re_replace(" +", " ").upper()


def c_int(value: ir.StringValue) -> ir.IntegerValue:
    """c() then a strict cast to int64 (leading zeros allowed)."""
    return c(value).cast("int64")


def c_upper(value: ir.StringValue) -> ir.StringValue:
    return c(value).upper()
