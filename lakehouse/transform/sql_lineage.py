"""Tracing SQL: which source columns each column of a model's query is computed from, and
which decide its rows (join keys, filters, groupings, distincts), for lineage (see
transform/lineage.py, whose `Lineage` holds what this finds).

Each model's SQL is parsed and qualified once by sqlglot (a star expanded from the tables'
columns, when they are given) and its scopes walked, so a model is traced once whatever its
number of columns; a query it cannot follow (a recursive CTE) is "(not traced)", and so is
anything that reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

ROWS = "(rows)"
UNTRACED = "(not traced)"
DIALECT = "duckdb"
JOIN_KEY, FILTER, GROUP_BY, DISTINCT = "join key", "filter", "group by", "distinct"
KIND_ORDER = (JOIN_KEY, FILTER, GROUP_BY, DISTINCT)


@dataclass(frozen=True)
class RowCondition:
    """A source column (or a table's rows) that decides which rows a column has."""

    source: str  # "dof_pts.bbl", or "dob_jobs (rows)"
    kind: str  # "join key", "filter", "group by" or "distinct"
    model: str  # the model whose query holds the join, filter or grouping

    @property
    def how(self) -> str:
        return f"{self.kind} in {self.model}"

    def __str__(self) -> str:
        return f"{self.source} ({self.how})"


def describe_rows(conditions: Iterable[RowCondition]) -> list[str]:
    """One line per join, filter or grouping, in the given order, with its source columns:
    "join key in pluto_lite: dof_pts.bbl, zoning_lots.bbl"."""
    grouped: dict[str, list[str]] = {}
    for condition in conditions:
        grouped.setdefault(condition.how, []).append(condition.source)
    return [f"{how}: {', '.join(sources)}" for how, sources in grouped.items()]


def column_lineage(
    sql: dict[str, str],
    output: str,
    inputs: set[str],
    tables: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """For each column of `output`, the input columns (or input rows) it is computed from;
    `tables` (table -> columns) lets a `SELECT *` be followed column by column."""
    return SqlLineage(sql, inputs, tables).columns(output)


def row_lineage(
    sql: dict[str, str],
    output: str,
    inputs: set[str],
    tables: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[RowCondition]]:
    """For each column of `output`, the join keys, filters and groupings that decide its rows."""
    return SqlLineage(sql, inputs, tables).rows(output)


Ref = tuple[str, str | None]  # (a table the query reads, its column); None: the table's rows
Keyed = tuple[Ref, str]  # a column and the kind of condition it is in
NOT_TRACED: Ref = (UNTRACED, None)  # stands for what a query that was not traced reads


@dataclass
class _ColumnTrace:
    """One column of a query in terms of the tables the query reads."""

    values: set[Ref] = field(default_factory=set)
    keys: set[Keyed] = field(default_factory=set)  # GROUP BYs and DISTINCTs on its path

    def add(self, other: _ColumnTrace) -> None:
        self.values |= other.values
        self.keys |= other.keys


@dataclass
class _QueryTrace:
    """One model's query in terms of the tables it reads."""

    columns: dict[str, _ColumnTrace]
    conditions: set[Keyed]  # join keys and filters anywhere in the query
    keys: set[Keyed]  # every grouping and DISTINCT: with the conditions, what decides its rows
    tables: set[str]


class _Untraceable(Exception):
    """The SQL holds something the walk cannot follow (a column of no table it knows, a set
    operation of unequal width)."""


class SqlLineage:
    """The column and row lineage of compiled models (model -> SQL, in build order); each
    model's query is parsed, qualified and walked once, when first needed."""

    def __init__(
        self,
        sql: Mapping[str, str],
        inputs: set[str],
        tables: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.sql = sql
        self.inputs = inputs
        self.tables = tables or {}
        self.order = {name: position for position, name in enumerate(sql)}
        self._queries: dict[str, _QueryTrace | None] = {}
        self._values: dict[Ref, frozenset[str]] = {}
        self._rows: dict[Ref, frozenset[RowCondition]] = {}

    def columns(self, output: str) -> dict[str, list[str]]:
        """For each column of `output`, its sorted sources ({} when its columns are unknown)."""
        names = self._column_names(output)
        return {name: sorted(self._source_values((output, name))) for name in names}

    def rows(self, output: str) -> dict[str, list[RowCondition]]:
        """For each column of `output`, what decides its rows, upstream model first."""
        names = self._column_names(output)
        return {name: self._sorted_rows(self._source_rows((output, name))) for name in names}

    def _column_names(self, output: str) -> list[str]:
        traced = self._query(output)
        if traced is not None:
            return list(traced.columns)
        return _plain_select_names(self.sql[output])

    def _query(self, model: str) -> _QueryTrace | None:
        if model not in self._queries:
            self._queries[model] = _trace_query(self.sql[model], self.tables)
        return self._queries[model]

    def _source_values(self, ref: Ref) -> frozenset[str]:
        """The source columns (or source rows) a column of a model or an input comes from."""
        table, column = ref
        if table in self.inputs:
            return frozenset({f"{table} {ROWS}" if column is None else f"{table}.{column}"})
        if table not in self.sql:
            return frozenset({UNTRACED})
        if ref not in self._values:
            self._values[ref] = frozenset()  # a cycle ends here
            self._values[ref] = frozenset(
                value
                for upstream in self._model_refs(ref)
                for value in self._source_values(upstream)
            )
        return self._values[ref]

    def _model_refs(self, ref: Ref) -> set[Ref]:
        """What a model's column (or its rows) is made of, among the tables its query reads."""
        table, column = ref
        traced = self._query(table)
        if traced is None:
            return {NOT_TRACED}
        if column is None:
            return {(name, None) for name in traced.tables}
        if column not in traced.columns:
            return {NOT_TRACED}
        return traced.columns[column].values

    def _source_rows(self, ref: Ref) -> frozenset[RowCondition]:
        table, column = ref
        traced = self._query(table) if table in self.sql else None
        if traced is None:
            return frozenset()
        if ref not in self._rows:
            self._rows[ref] = frozenset()  # a cycle ends here
            keyed = traced.conditions | (
                traced.keys if column is None else _keys_of(traced, column)
            )
            found = set(self._conditions(table, keyed))
            # what decides the rows of a join key or a filtered column decides these rows too
            # (the other side of a join: its filters, its grouping to one row per key)
            upstream = self._model_refs(ref) | {condition for condition, _ in keyed}
            for read in upstream:
                found.update(self._source_rows(read))
            self._rows[ref] = frozenset(found)
        return self._rows[ref]

    def _conditions(self, model: str, keyed: Iterable[Keyed]) -> Iterable[RowCondition]:
        for ref, kind in keyed:
            for source in self._source_values(ref):
                yield RowCondition(source, kind, model)

    def _sorted_rows(self, conditions: Iterable[RowCondition]) -> list[RowCondition]:
        return sorted(
            conditions,
            key=lambda c: (self.order.get(c.model, -1), KIND_ORDER.index(c.kind), c.source),
        )


def _keys_of(traced: _QueryTrace, column: str) -> set[Keyed]:
    found = traced.columns.get(column)
    return found.keys if found is not None else set()


def _plain_select_names(sql: str) -> list[str]:
    """The output names of a query that cannot be traced ([] when it selects a star)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = sqlglot.parse_one(sql, dialect=DIALECT)
    except SqlglotError:
        return []
    if not isinstance(parsed, exp.Query) or any(s.is_star for s in parsed.selects):
        return []  # nothing to name column by column (the table lineage still holds)
    return list(parsed.named_selects)


def _trace_query(sql: str, tables: Mapping[str, Sequence[str]]) -> _QueryTrace | None:
    """A model's query traced scope by scope, or None where sqlglot cannot qualify it or the
    walk cannot follow it."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify_columns import qualify_columns
    from sqlglot.optimizer.qualify_tables import qualify_tables
    from sqlglot.optimizer.scope import build_scope
    from sqlglot.schema import MappingSchema

    # not normalized: the columns keep their case ("Facility Name"), as DuckDB keeps it
    schema = MappingSchema(
        {name: dict.fromkeys(columns, "UNKNOWN") for name, columns in tables.items()},
        dialect=DIALECT,
        normalize=False,
    )
    try:
        parsed = sqlglot.parse_one(sql, dialect=DIALECT)
        qualified = qualify_columns(qualify_tables(parsed, dialect=DIALECT), schema)
        root = build_scope(qualified)
        if root is None or not isinstance(qualified, exp.Query):
            return None
        return _QueryWalk(root).trace()
    except Exception:  # sqlglot cannot qualify it, or the walk cannot follow it: not traced
        return None


class _QueryWalk:
    """Follows each output column of a qualified query down its scopes to the tables read."""

    def __init__(self, root: Scope) -> None:
        self.root = root
        self.scopes = list(root.traverse())
        self.by_expression = {id(scope.expression): scope for scope in self.scopes}
        self.memo: dict[tuple[int, str], _ColumnTrace] = {}
        self.grouped: dict[int, set[Keyed]] = {}

    def trace(self) -> _QueryTrace:
        from sqlglot import exp

        if _has_star(self.root):
            raise _Untraceable("a star is left: the tables' columns are unknown")
        columns = {name: self.column(self.root, name) for name in _names(self.root)}
        conditions: set[Keyed] = set()
        keys: set[Keyed] = set()
        for scope in self.scopes:
            conditions |= self.conditions(scope)
            keys |= self.groupings(scope)
        tables = {
            source.name
            for scope in self.scopes
            for source in scope.sources.values()
            if isinstance(source, exp.Table)
        }
        return _QueryTrace(columns, conditions, keys, tables)

    def column(self, scope: Scope, name: str) -> _ColumnTrace:
        """What output column `name` of `scope` is made of."""
        key = (id(scope), name)
        if key not in self.memo:
            self.memo[key] = _ColumnTrace()  # a recursive CTE ends here
            self.memo[key] = self._column(scope, name)
        return self.memo[key]

    def _column(self, scope: Scope, name: str) -> _ColumnTrace:
        from sqlglot import exp

        if _is_set_operation(scope):
            left, right = scope.union_scopes
            position = _names(left).index(name)
            right_names = _names(right)
            if position >= len(right_names):
                raise _Untraceable("a set operation of unequal width")
            found = _ColumnTrace()
            found.add(self.column(left, name))
            found.add(self.column(right, right_names[position]))
            found.keys |= self._distinct(scope)
            return found
        if not isinstance(scope.expression, exp.Select):  # UNNEST(t.list) AS u(item)...
            return self.expression(scope, scope.expression)
        select = {s.alias_or_name: s for s in scope.expression.selects}.get(name)
        if select is None:
            raise _Untraceable(f"no column {name!r}")
        found = self.expression(scope, select)
        found.keys |= self.groupings(scope)
        return found

    def expression(self, scope: Scope, node: exp.Expr, *, rows: bool = True) -> _ColumnTrace:
        """The columns an expression of `scope` reads (the scope's rows if none, and `rows`)."""
        from sqlglot import exp

        found = _ColumnTrace()
        nested = False
        for part in node.walk(prune=lambda n: n is not node and isinstance(n, exp.Query)):
            if part is not node and isinstance(part, exp.Query):
                nested = True
                inner = part.this if isinstance(part, exp.Subquery) else part
                child = self.by_expression.get(id(inner))
                if child is not None:
                    for name in _names(child):
                        found.add(self.column(child, name))
            elif isinstance(part, exp.Column) and part.table:
                found.add(self.resolve(scope, part))
        if rows and not found.values and not nested:
            found.values |= self.rows(scope)
        return found

    def resolve(self, scope: Scope, column: exp.Column) -> _ColumnTrace:
        """A qualified column: a table's column, or a column of a subquery or CTE (looked up in
        the enclosing scopes too, for a correlated subquery)."""
        from sqlglot import exp

        holder: Scope | None = scope
        while holder is not None:
            source = holder.sources.get(column.table)
            if isinstance(source, exp.Table):
                return _ColumnTrace({(source.name, column.name)})
            if source is not None:
                return self.column(source, column.name)
            holder = holder.parent
        raise _Untraceable(f"no table {column.table!r}")

    def rows(self, scope: Scope) -> set[Ref]:
        """The tables whose rows make the rows of `scope`."""
        from sqlglot import exp

        if _is_set_operation(scope):
            return {ref for part in scope.union_scopes for ref in self.rows(part)}
        found: set[Ref] = set()
        for _, source in scope.selected_sources.values():
            if isinstance(source, exp.Table):
                found.add((source.name, None))
            else:
                found |= self.rows(source)
        return found

    def groupings(self, scope: Scope) -> set[Keyed]:
        """The GROUP BY keys and DISTINCT columns of `scope`: they decide the rows of every
        column it outputs, a grouping key's own rows included (one row per key)."""
        if id(scope) not in self.grouped:
            self.grouped[id(scope)] = self._groupings(scope)
        return self.grouped[id(scope)]

    def _groupings(self, scope: Scope) -> set[Keyed]:
        if _is_set_operation(scope):
            return self._distinct(scope)
        group = scope.expression.args.get("group")
        found = self._keyed(scope, group.expressions, GROUP_BY) if group is not None else set()
        return found | self._distinct(scope)

    def _distinct(self, scope: Scope) -> set[Keyed]:
        from sqlglot import exp

        distinct = scope.expression.args.get("distinct")
        if _is_set_operation(scope):  # UNION (not UNION ALL) keeps distinct rows
            if not distinct:
                return set()
            return {
                (ref, DISTINCT)
                for part in scope.union_scopes
                for name in _names(part)
                for ref in self.column(part, name).values
            }
        if not isinstance(distinct, exp.Distinct):
            return set()
        on = distinct.args.get("on")
        return self._keyed(scope, on.expressions if on else _query(scope).selects, DISTINCT)

    def conditions(self, scope: Scope) -> set[Keyed]:
        """The join keys and filters of `scope`."""
        from sqlglot import exp

        query = scope.expression
        if not isinstance(query, exp.Select):
            return set()
        joins = [join.args.get("on") for join in query.args.get("joins") or []]
        found = self._keyed(scope, [on for on in joins if on is not None], JOIN_KEY)
        filters = [query.args.get(part) for part in ("where", "having", "qualify")]
        return found | self._keyed(scope, [f for f in filters if f is not None], FILTER)

    def _keyed(self, scope: Scope, nodes: Iterable[exp.Expr], kind: str) -> set[Keyed]:
        """The columns of `nodes` as conditions of `kind`, with the groupings that decide their
        own rows (a join key from a grouped subquery brings its GROUP BY)."""
        found: set[Keyed] = set()
        for node in nodes:
            traced = self.expression(scope, node, rows=False)
            found |= {(ref, kind) for ref in traced.values} | traced.keys
        return found


def _is_set_operation(scope: Scope) -> bool:
    from sqlglot import exp

    return isinstance(scope.expression, exp.SetOperation)


def _query(scope: Scope) -> exp.Query:
    """The query of a scope that is one (not an UNNEST or another table function)."""
    return cast("exp.Query", scope.expression)


def _names(scope: Scope) -> list[str]:
    if _is_set_operation(scope):
        return _names(scope.union_scopes[0])
    return list(_query(scope).named_selects)


def _has_star(scope: Scope) -> bool:
    if _is_set_operation(scope):
        return any(_has_star(part) for part in scope.union_scopes)
    return any(select.is_star for select in _query(scope).selects)
