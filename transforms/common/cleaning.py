"""Cleaning raw text values, as ibis expressions (PLUTO-lite spec, section 2.1; any product
that reads text sources can use them)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


@ibis.udf.scalar.builtin
def trim(value: str) -> str:
    """The engine's own trim of spaces (ibis's .strip() trims all whitespace, ~4x slower)."""


def c(value: ir.StringValue) -> ir.StringValue:
    """Trim ASCII spaces; then '' or exactly 'N/A' becomes NULL."""
    return trim(value).nullif("").nullif("N/A")


def ct(value: ir.StringValue) -> ir.StringValue:
    """Free text: c(), every run of spaces becomes one space, upper case."""
    return c(value).re_replace(" +", " ").upper()


def c_int(value: ir.StringValue) -> ir.IntegerValue:
    """c() then a strict cast to int64 (leading zeros allowed)."""
    return c(value).cast("int64")


def c_upper(value: ir.StringValue) -> ir.StringValue:
    return c(value).upper()
