"""Data dictionaries (`contracts/<product>/dictionary.yml`): every output table's columns, as
the receiving teams read them, written before the build and checked against it.

    tables:
      pluto_lite:
        description: One row per tax lot ...
        primary_key: [bbl]
        sample_columns: [address, ownername]
        columns:
          - name: bbl
            type: bbl
            description: Borough-block-lot, the tax lot's 10-digit identifier.
            nullable: false
            range: [1000000000, 5999999999]

`references: <table>.<column>` on a column (MapPLUTO-lite's `bbl` says `references:
pluto_lite.bbl`) is a relationship rule, as dbt's `relationships` test: every value of the
column (NULL aside) must be among the values of that column of another table the build has:
one of the product's recipe inputs by its alias (e.g. another product's output), or one of its
models (an output, a kept model, or any model they read, views too; the table itself for a
parent key). The name is checked when the build runs, where the tables are known
(`lakehouse.contracts.contract.BuildTables`); a table of the same dictionary is checked on
load. The rule takes the column's `severity`, as its other rules do.

`sample_columns: [<column>, ...]` on a table names the columns that tell people which row it
is (a name, an address: what a hashed key cannot): a failing rule's sample rows show them after
the row's key and before the value at fault, on the console, in the build's contract report
and on the docs site; a uniqueness rule's show them for each row repeating a value. Each must
be a column of the table. Without it, samples show the key alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from lakehouse.errors import ConfigError, NotFoundError
from lakehouse.names import check_dataset_name
from lakehouse.records import Strict, load_yaml_model
from lakehouse.spatial import check_crs

DICTIONARY_FILE = "dictionary.yml"
ColumnType = Literal[
    "bbl", "bool", "date", "datetime", "decimal", "float", "integer", "text", "geometry"
]
# how each dictionary type is stored (ibis type names); decimal columns give their own precision
STORAGE_TYPES: dict[str, str] = {
    "bbl": "int64",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "float": "float64",
    "integer": "int64",
    "text": "string",
    "geometry": "geometry",
}
# `references`: a table (a recipe input's alias or a model: identifiers), a dot, a column
REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")
NUMERIC_TYPES = frozenset({"bbl", "decimal", "float", "integer"})
ORDERED_TYPES = NUMERIC_TYPES | {"date", "datetime"}
GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"
]


class ColumnEntry(Strict):
    name: str
    type: ColumnType
    description: str = Field(min_length=1)
    nullable: bool = True
    allowed: list[Any] | None = Field(
        default=None, description="the only values the column may hold (besides NULL)"
    )
    range: tuple[Any, Any] | None = Field(default=None, description="[min, max], inclusive")
    regex: str | None = Field(default=None, description="a pattern every value matches")
    unique: bool = False
    precision: tuple[int, int] | None = Field(default=None, description="decimal: [p, s]")
    source: str | None = Field(default=None, description="where the value comes from")
    example: Any = None
    severity: Literal["error", "warn"] = "error"
    crs: str | None = Field(
        default=None,
        description="geometry: its coordinate reference system, e.g. EPSG:2263 (written into "
        "the GeoParquet output and every package)",
    )
    geometry_type: GeometryType | None = Field(
        default=None, description="geometry: the one kind every value is, e.g. MultiPolygon"
    )
    valid: bool = Field(
        default=False, description="geometry: every value must be valid (OGC simple features)"
    )
    empty: bool = Field(default=True, description="geometry: false forbids empty geometries")
    bbox: tuple[float, float, float, float] | None = Field(
        default=None,
        description="geometry: [xmin, ymin, xmax, ymax] in the column's crs that every value "
        "lies within",
    )
    tolerance: float | None = Field(
        default=None,
        ge=0,
        description="geometry: in crs units, how far a geometry may move before a diff counts "
        "it as changed (e.g. 0.01 ft; a reprojection round trip must not count)",
    )
    references: str | None = Field(
        default=None,
        description="table.column: every value (NULL aside) is a value of that column of "
        "another table of the build (a recipe input by its alias, or a model of the product)",
    )

    @field_validator("references")
    @classmethod
    def _table_dot_column(cls, references: str | None) -> str | None:
        if references is not None and REFERENCE.fullmatch(references) is None:
            raise ValueError(
                f"references is {references!r}; write the table and the column its values "
                "come from as table.column, e.g. pluto_lite.bbl"
            )
        return references

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, crs: str | None) -> str | None:
        return None if crs is None else check_crs(crs)

    @model_validator(mode="after")
    def _constraints_fit_the_type(self) -> ColumnEntry:
        if self.regex is not None and self.type != "text":
            raise ValueError(f"regex applies to text columns, not {self.type}")
        if self.range is not None and self.type not in ORDERED_TYPES:
            raise ValueError(f"range applies to numbers and dates, not {self.type}")
        if self.allowed is not None and self.type in {"geometry", "float"}:
            raise ValueError(f"allowed values cannot apply to {self.type} columns")
        if (self.type == "decimal") != (self.precision is not None):
            raise ValueError("decimal columns, and only they, give precision: [p, s]")
        if (self.type == "geometry") != (self.crs is not None):
            raise ValueError(
                "geometry columns, and only they, give their crs (e.g. crs: EPSG:2263, or "
                "EPSG:4326 for longitude/latitude)"
            )
        geometry_rules = {
            "geometry_type": self.geometry_type is not None,
            "valid": self.valid,
            "empty": not self.empty,
            "bbox": self.bbox is not None,
            "tolerance": self.tolerance is not None,
        }
        if self.references is not None and self.type == "geometry":
            raise ValueError("references cannot apply to geometry columns")
        given = [name for name, set_ in geometry_rules.items() if set_]
        if given and self.type != "geometry":
            raise ValueError(f"{', '.join(given)} apply to geometry columns, not {self.type}")
        if self.bbox is not None and not (
            self.bbox[0] <= self.bbox[2] and self.bbox[1] <= self.bbox[3]
        ):
            raise ValueError("bbox is [xmin, ymin, xmax, ymax], with xmin <= xmax and ymin <= ymax")
        return self

    @property
    def storage_type(self) -> str:
        if self.type == "decimal":
            assert self.precision is not None
            return f"decimal({self.precision[0]}, {self.precision[1]})"
        return STORAGE_TYPES[self.type]

    @property
    def reference(self) -> tuple[str, str] | None:
        """The (table, column) the column's values must be found in, if it says."""
        if self.references is None:
            return None
        table, column = self.references.split(".")
        return table, column

    def rules_text(self, allowed_shown: int | None = None) -> str:
        """What the column's values may be, for people (the docs site, a package's
        DICTIONARY.md): allowed values (the first `allowed_shown`, then a count), range,
        pattern, uniqueness, the column it references, a geometry's rules, and whether breaking
        them only warns."""
        found = []
        if self.allowed is not None:
            shown = self.allowed[:allowed_shown] if allowed_shown else self.allowed
            more = len(self.allowed) - len(shown)
            found.append("one of " + ", ".join(map(str, shown))
                         + (f" (and {more} more)" if more else ""))  # fmt: skip
        if self.range is not None:
            found.append(f"between {self.range[0]} and {self.range[1]}")
        if self.regex is not None:
            found.append(f"matches {self.regex}")
        if self.unique:
            found.append("unique")
        if self.references is not None:
            found.append(f"values in {self.references}")
        if self.crs is not None:  # geometry
            found += self._geometry_rules()
        if self.severity == "warn" and found:
            found.append("(warning only)")
        return "; ".join(found)

    def _geometry_rules(self) -> list[str]:
        found = [f"CRS {self.crs}"]
        if self.geometry_type is not None:
            found.append(f"every one a {self.geometry_type}")
        if self.valid:
            found.append("valid")
        if not self.empty:
            found.append("not empty")
        if self.bbox is not None:
            found.append("within " + ", ".join(f"{v:,.10g}" for v in self.bbox))
        if self.tolerance is not None:
            found.append(f"a diff counts moves beyond {self.tolerance:g}")
        return found


class TableEntry(Strict):
    """One output: what it is, its primary key and its columns, in order."""

    description: str = Field(min_length=1)
    primary_key: list[str] = Field(default_factory=list)
    sample_columns: list[str] = Field(
        default_factory=list,
        description="columns that tell people which row it is (e.g. [name, address]): a "
        "failing rule's sample rows show them after the key, before the value at fault",
        exclude_if=lambda value: not value,  # a table without them keeps its contract digest
    )
    columns: list[ColumnEntry] = Field(min_length=1)

    @field_validator("columns", mode="wrap")
    @classmethod
    def _name_the_columns(cls, value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            raise _named_column_errors(exc, value) from None

    @model_validator(mode="after")
    def _keys_are_columns(self) -> TableEntry:
        names = [column.name for column in self.columns]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"columns listed twice: {', '.join(repeated)}")
        missing = [key for key in self.primary_key if key not in names]
        if missing:
            raise ValueError(f"primary_key names unknown column(s): {', '.join(missing)}")
        unknown = [name for name in self.sample_columns if name not in names]
        if unknown:
            raise ValueError(
                f"sample_columns names {_unknown_names(unknown, names)}; name columns of this "
                f"table: {', '.join(names)}"
            )
        return self

    def column(self, name: str) -> ColumnEntry:
        return next(column for column in self.columns if column.name == name)

    def geometry_crs(self) -> dict[str, str]:
        """Geometry column -> its declared CRS."""
        return {column.name: column.crs for column in self.columns if column.crs is not None}


def _unknown_names(unknown: list[str], names: list[str]) -> str:
    """`unknown column 'nmae' (did you mean 'name'?)`, or several, each with its likely meaning."""
    told = []
    for name in unknown:
        close = difflib.get_close_matches(name, names, n=1)
        told.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(told)}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _column_label(columns: Any, index: int) -> str:
    """How an error names the column at `index` of a table's `columns` list: `bbl (1st
    column)`, or `(1st column)` when it has no name."""
    place = f"{ordinal(index + 1)} column"
    entry = columns[index] if isinstance(columns, list) and index < len(columns) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"{name} ({place})" if isinstance(name, str) and name else f"({place})"


def _named_column_errors(exc: ValidationError, columns: Any) -> ValidationError:
    """`exc` (the errors of a table's `columns` list) with each column named instead of
    numbered (`columns.bbl (1st column)`, not `columns.0`), and a misspelt key reported on its
    column with the key it most likely meant (`unknown key 'nullabel' (did you mean
    'nullable'?)`)."""
    keys = list(ColumnEntry.model_fields)
    details: list[InitErrorDetails] = []
    for error in exc.errors():
        loc = list(error["loc"])
        if loc and isinstance(loc[0], int):
            loc[0] = _column_label(columns, loc[0])
        kind, message = str(error["type"]), error["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden" and len(loc) == 2:
            key = str(loc.pop())
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"a column takes {', '.join(keys)}"
            kind, message = "unknown_key", f"unknown key {key!r} ({hint})"
        custom = PydanticCustomError(kind, message)  # no context: braces stay text
        details.append(InitErrorDetails(type=custom, loc=tuple(loc), input=error["input"]))
    return ValidationError.from_exception_data(exc.title, details)


class Dictionary(Strict):
    product: str
    description: str = ""
    tables: dict[str, TableEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_name_known_columns(self) -> Dictionary:
        """A reference to a table this dictionary describes must name one of its columns
        (other tables are known only to the build)."""
        for name, table in self.tables.items():
            for column in table.columns:
                target = column.reference
                if target is None or target[0] not in self.tables:
                    continue
                columns = [c.name for c in self.tables[target[0]].columns]
                if target[1] not in columns:
                    raise ValueError(
                        f"{name}.{column.name} references {column.references}, but table "
                        f"{target[0]!r} has no column {target[1]!r}; name one of: "
                        f"{', '.join(columns)}"
                    )
        return self


def dictionary_path(contracts_dir: Path, product: str) -> Path:
    return contracts_dir / check_dataset_name(product) / DICTIONARY_FILE


def load_dictionary(contracts_dir: Path, product: str) -> Dictionary | None:
    """The product's dictionary, validated; None when the product has none."""
    path = dictionary_path(contracts_dir, product)
    if not path.is_file():
        return None
    dictionary = load_yaml_model(path, Dictionary, "product and tables")
    if dictionary.product != product:
        raise ConfigError(
            f"{path}: field 'product' is {dictionary.product!r}; make it {product!r}."
        )
    return dictionary


def require_dictionary(contracts_dir: Path, product: str) -> Dictionary:
    found = load_dictionary(contracts_dir, product)
    if found is None:
        raise NotFoundError(
            f"{product!r} has no data dictionary at {dictionary_path(contracts_dir, product)}."
        )
    return found


def schema_differences(table: TableEntry, schema: dict[str, str]) -> list[str]:
    """How an output's columns (name -> ibis type, in order) differ from its dictionary entry."""
    problems = []
    expected = [column.name for column in table.columns]
    actual = list(schema)
    missing = [name for name in expected if name not in schema]
    extra = [name for name in actual if name not in expected]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"column(s) not in the dictionary: {', '.join(extra)}")
    if not missing and not extra and actual != expected:
        problems.append(order_difference(expected, actual))
    for column in table.columns:
        stored = schema.get(column.name)
        if stored is not None and _bare_type(stored) != _bare_type(column.storage_type):
            problems.append(
                f"column {column.name!r} is {_bare_type(stored)}, the dictionary says "
                f"{column.type} ({column.storage_type})"
            )
    return problems


def order_difference(expected: list[str], actual: list[str]) -> str:
    """The same columns in another order, told by the first place they differ and how many
    columns are out of place (not two long lists to compare by eye)."""
    misplaced = [
        i for i, (want, got) in enumerate(zip(expected, actual, strict=True)) if want != got
    ]
    first = misplaced[0]
    return (
        f"columns out of order: the {ordinal(first + 1)} column is {actual[first]!r}, the "
        f"dictionary puts {expected[first]!r} there ({len(misplaced)} of {len(expected)} "
        "columns are not where the dictionary lists them)"
    )


def _bare_type(ibis_type: str) -> str:
    """An ibis type name without its nullability marker; any geometry (ibis says what kind,
    e.g. point:geometry) is geometry."""
    bare = ibis_type.removeprefix("!").replace(" ", "")
    return "geometry" if bare.endswith(":geometry") else bare
