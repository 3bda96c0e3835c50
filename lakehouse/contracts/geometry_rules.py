"""The data dictionary's geometry rules (geometry type, valid, not empty, within a bbox or a
CRS's area of use) as checks on a geometry column (`geometry_check`): evaluated inside the
contract's one aggregate query, with DuckDB's spatial functions; a NULL geometry passes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lakehouse.contracts.report import Severity
from lakehouse.contracts.rules import RuleCheck


@functools.cache
def _spatial_function(name: str, returns: str) -> Any:
    """A one-argument function of DuckDB's spatial extension that ibis 12 cannot compile for
    DuckDB (ST_IsEmpty, ST_XMin ...), as a builtin UDF of a geometry."""
    import ibis
    import ibis.expr.datatypes as dt

    def function(geometry: Any) -> Any:  # the body is never run: DuckDB's function is
        raise NotImplementedError

    return ibis.udf.scalar.builtin(
        function, name=name, signature=((dt.geometry,), dt.dtype(returns))
    )


def _is_empty(value: Any) -> Any:
    return _spatial_function("st_isempty", "boolean")(value)


def extent(value: Any) -> list[Any]:
    """[xmin, ymin, xmax, ymax] of each geometry (NULL for an empty one; +-1.8e308 for a
    collection of empties)."""
    return [_spatial_function(f"st_{side}", "float64")(value)
            for side in ("xmin", "ymin", "xmax", "ymax")]  # fmt: skip


def _has_type(value: Any, geometry_type: str) -> Any:
    # DuckDB's ST_GeometryType answers an upper-case enum ('MULTIPOLYGON'), which neither
    # upper() nor ILIKE take, and ibis drops a cast of it to string (it believes it is one):
    # the declared name is upper-cased instead, so the comparison ignores case
    return value.geometry_type() == geometry_type.upper()


def _is_valid(value: Any) -> Any:
    return value.is_valid()


def _is_not_empty(value: Any) -> Any:
    return ~_is_empty(value)


def _within_bbox(value: Any, bbox: list[float], crs: str | None = None) -> Any:
    """The geometry's extent lies inside bbox (edges included; `crs`, the bbox's, is only
    shown); an empty geometry has no extent: `empty` rules it."""
    import ibis

    xmin, ymin, xmax, ymax = extent(value)
    inside = ibis.and_(xmin >= bbox[0], ymin >= bbox[1], xmax <= bbox[2], ymax <= bbox[3])
    return _is_empty(value) | inside


@dataclass(frozen=True)
class GeometryRule:
    kind: str  # the rule kind shown in reports
    passes: Callable[..., Any]  # (geometry column, **the check's statistics) -> boolean column


# the data dictionary's geometry rules, by the name of their check
GEOMETRY_RULES = {
    "geometry_type": GeometryRule("geometry type", _has_type),
    "valid": GeometryRule("valid", _is_valid),
    "not_empty": GeometryRule("not empty", _is_not_empty),
    "bbox": GeometryRule("bbox", _within_bbox),
    "crs_area": GeometryRule("CRS area of use", _within_bbox),
}


def geometry_check(rule: str, severity: Severity, **statistics: Any) -> RuleCheck:
    """One of the data dictionary's geometry rules (a key of GEOMETRY_RULES, with its values:
    geometry_type=, bbox= and crs=) as a check on a geometry column: `check_schema` evaluates
    it in its one query, pandera's own `validate` as a custom check. A NULL geometry passes
    (`nullable` governs it)."""
    if rule not in GEOMETRY_RULES:
        raise ValueError(f"no geometry rule {rule!r}; one of {', '.join(GEOMETRY_RULES)}")
    values = {"rule": rule, **statistics}
    return RuleCheck(
        rule,
        values,
        raise_warning=severity == "warn",
        error=geometry_detail(values),
        function=geometry_check_fn,
    )


def geometry_check_fn(data: Any, rule: str, **statistics: Any) -> Any:
    """A geometry rule as pandera calls a check: on `data.table[data.key]`."""
    return GEOMETRY_RULES[rule].passes(data.table[data.key], **statistics)


def is_geometry_check(check: Any) -> bool:
    return getattr(check, "_check_fn", None) is geometry_check_fn


def geometry_passes(check: Any, value: Any) -> Any:
    statistics = dict(check.statistics)
    return GEOMETRY_RULES[statistics.pop("rule")].passes(value, **statistics)


def geometry_detail(statistics: dict[str, Any]) -> str:
    match statistics["rule"]:
        case "geometry_type":
            return f"is {statistics['geometry_type']}"
        case "valid":
            return "is a valid OGC geometry"
        case "not_empty":
            return "no empty geometries"
        case "crs_area":
            box = ", ".join(_number(v) for v in statistics["bbox"])
            return f"coordinates fit {statistics['crs']}, within its area of use [{box}]"
        case "bbox":
            box = ", ".join(_number(v) for v in statistics["bbox"])
            crs = statistics.get("crs")
            return f"lies within [{box}]" + (f" in {crs}" if crs else "")
    raise ValueError(statistics["rule"])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
