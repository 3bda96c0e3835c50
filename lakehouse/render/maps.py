"""Maps as inline SVG, drawn here (no script, no tiles, nothing fetched): geometries (WKB, WKT or
shapely) scaled into the picture with y pointing up, one <path class="feature <layer>"> per
feature, a legend, a scale bar and a caption with the extent and the CRS. Big tables are
sampled (at most MAX_FEATURES features, the same ones every time) and shapes are simplified to
about half a pixel, so a page stays small.

`table_map` maps a geometry column of a table (the docs site); `diff_map` maps what changed in
one between two builds (the diff report): old and new positions of changed rows, added and
removed rows, over the other features around them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lakehouse.qa.diff import TableDiff
from lakehouse.qa.geometry_diff import geometry_changed
from lakehouse.render.charts import (
    ADDED_COLOUR,
    CHANGED_COLOUR,
    FONT,
    NEW_COLOUR,
    OLD_COLOUR,
    REMOVED_COLOUR,
)
from lakehouse.render.html import escape
from lakehouse.sql import sql_identifier

MAX_FEATURES = 2000  # per map; a diff map gives each of its five layers a fifth
WIDTH, MAX_PLOT_HEIGHT, MIN_PLOT_HEIGHT = 640, 520, 160  # pixels
MARGIN = 8  # pixels between the extent and the plot's edge
POINT_RADIUS = 3.0
CONTEXT_COLOUR = "#dadce0"
UNITS = {"US survey foot": "ft (US)", "foot": "ft", "metre": "m", "degree": "°"}


@dataclass
class Layer:
    """Features drawn alike: `css` names their class (`feature <css>`), `label` the legend's
    words; `total` is how many there are when `features` is a sample of them."""

    label: str
    css: str
    colour: str
    features: list[Any] = field(default_factory=list)  # WKB bytes, WKT text or shapely
    total: int | None = None
    outline: bool = False  # drawn as a dashed outline (an old position under its new one)


def map_svg(
    title: str,
    layers: list[Layer],
    crs: str | None,
    extent: tuple[float, float, float, float] | None = None,
) -> str:
    """An <svg class="map"> of the layers (the first drawn first, underneath), fitted to
    `extent` (xmin, ymin, xmax, ymax; default: every feature's)."""
    import shapely

    parsed = [[g for g in (_geometry(f) for f in layer.features) if g is not None]
              for layer in layers]  # fmt: skip
    everything = [g for geometries in parsed for g in geometries]
    if extent is None and everything:
        xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(everything))
        extent = (xmin, ymin, xmax, ymax)
    frame = _Frame.fitted(extent or (0.0, 0.0, 1.0, 1.0))
    groups = [_layer_group(layer, geometries, frame)
              for layer, geometries in zip(layers, parsed, strict=True)]  # fmt: skip
    plot_top = 22
    plot = (
        f'<svg class="plot" x="0" y="{plot_top}" width="{WIDTH}" height="{frame.height:.0f}" '
        f'viewBox="0 0 {WIDTH} {frame.height:.0f}"><rect width="{WIDTH}" '
        f'height="{frame.height:.0f}" fill="#ffffff" stroke="#dadce0"/>{"".join(groups)}</svg>'
    )
    below = plot_top + frame.height + 18
    unit = crs_unit(crs)
    body = [plot, _scale_bar(frame.scale, frame.span_x, unit, below)]
    body += _captions(frame, crs, unit, layers, parsed, below)
    full_height = below + 46
    if len(layers) > 1:
        legend, full_height = _legend(layers, parsed, below + 60)
        body += legend
    return (
        f'<svg class="map" width="{WIDTH}" height="{full_height:.0f}" '
        f'viewBox="0 0 {WIDTH} {full_height:.0f}" {FONT} role="img" '
        f'aria-label="{escape(title)}"><text x="4" y="14" font-weight="bold">{escape(title)}'
        f"</text>{''.join(body)}</svg>"
    )


@dataclass(frozen=True)
class _Frame:
    """Where the extent (in CRS units) lands in the plot: `scale` pixels per unit, its
    top-left corner at (`left`, `top`), in a plot `height` pixels high."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    scale: float
    left: float
    top: float
    height: float

    @classmethod
    def fitted(cls, extent: tuple[float, float, float, float]) -> _Frame:
        """The extent fitted into the plot's width, its height within the plot's bounds, and
        centred where it is narrower; a single point is shown with a unit around it."""
        xmin, ymin, xmax, ymax = extent
        if xmax - xmin <= 0 and ymax - ymin <= 0:
            xmin, xmax, ymin, ymax = xmin - 0.5, xmax + 0.5, ymin - 0.5, ymax + 0.5
        span_x, span_y = max(xmax - xmin, 1e-12), max(ymax - ymin, 1e-12)
        inner = WIDTH - 2 * MARGIN
        plot_height = min(max(inner * span_y / span_x, MIN_PLOT_HEIGHT - 2 * MARGIN),
                          MAX_PLOT_HEIGHT - 2 * MARGIN)  # fmt: skip
        scale = min(inner / span_x, plot_height / span_y)
        left = MARGIN + (inner - span_x * scale) / 2
        top = MARGIN + (plot_height - span_y * scale) / 2
        return cls(xmin, ymin, xmax, ymax, scale, left, top, plot_height + 2 * MARGIN)

    @property
    def span_x(self) -> float:
        return max(self.xmax - self.xmin, 1e-12)

    @property
    def span_y(self) -> float:
        return max(self.ymax - self.ymin, 1e-12)

    def place(self, x: float, y: float) -> tuple[float, float]:
        """A point's position in the plot, in pixels (y pointing down)."""
        return (round(self.left + (x - self.xmin) * self.scale, 1),
                round(self.top + (self.ymax - y) * self.scale, 1))  # fmt: skip


def _layer_group(layer: Layer, geometries: list[Any], frame: _Frame) -> str:
    """A layer's features as one <g>, each simplified to half a pixel."""
    import shapely

    fill = "none" if layer.outline else layer.colour
    dash = ' stroke-dasharray="4 3"' if layer.outline else ""
    simplify = 0.5 / frame.scale  # half a pixel, in CRS units
    paths = "".join(
        _path(shapely.simplify(g, simplify, preserve_topology=True), frame.place, layer.css)
        for g in geometries
    )
    return (
        f'<g class="layer {escape(layer.css)}" fill="{fill}" fill-opacity="0.35" '
        f'stroke="{layer.colour}" stroke-width="1.2"{dash} fill-rule="evenodd">{paths}</g>'
    )


def _captions(
    frame: _Frame,
    crs: str | None,
    unit: str | None,
    layers: list[Layer],
    parsed: list[list[Any]],
    below: float,
) -> list[str]:
    """The lines under the plot: the CRS and the extent shown, then how many features were
    drawn (of how many, when sampled)."""
    shown = sum(len(g) for g in parsed)
    total = sum(layer.total if layer.total is not None else len(p)
                for layer, p in zip(layers, parsed, strict=True))  # fmt: skip
    digits = min(max(3 - math.floor(math.log10(max(frame.span_x, frame.span_y))), 0), 9)
    ranges = ((frame.xmin, frame.xmax), (frame.ymin, frame.ymax))
    x_range, y_range = (f"{low:,.{digits}f} to {high:,.{digits}f}" for low, high in ranges)
    caption = (
        f"{crs or 'CRS not recorded'}{f', in {unit}' if unit else ''} · x {x_range}, y {y_range}"
    )
    sampled = f"{shown:,} of {total:,} features drawn (the same sample every time)"
    drawn = sampled if shown < total else f"{shown:,} feature{'' if shown == 1 else 's'} drawn"
    return [
        f'<text class="caption" x="4" y="{below + 22:.0f}">{escape(caption)}</text>',
        f'<text class="caption" x="4" y="{below + 38:.0f}">{escape(drawn)}</text>',
    ]


def _legend(
    layers: list[Layer], parsed: list[list[Any]], first_line: float
) -> tuple[list[str], float]:
    """A swatch and the words of each layer (with its count), wrapped to the map's width from
    `first_line` down; and the height the map needs below it."""
    found = []
    x, y = 4, first_line
    for layer, geometries in zip(layers, parsed, strict=True):
        count = layer.total if layer.total is not None else len(geometries)
        words = f"{layer.label} ({count:,})"
        wide = 28 + 7 * len(words)
        if x > 4 and x + wide > WIDTH:
            x, y = 4, y + 18
        swatch = "none" if layer.outline else layer.colour
        found.append(
            f'<rect class="swatch {escape(layer.css)}" x="{x}" y="{y - 10:.0f}" width="12" '
            f'height="12" fill="{swatch}" stroke="{layer.colour}"/>'
            f'<text x="{x + 16}" y="{y:.0f}">{escape(words)}</text>'
        )
        x += wide
    return found, y + 8


def _geometry(value: Any) -> Any:
    """A shapely geometry from WKB, WKT or shapely; None for NULL or empty."""
    import shapely

    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        geometry = shapely.from_wkb(bytes(value))
    elif isinstance(value, str):
        geometry = shapely.from_wkt(value)
    else:
        geometry = value
    return None if geometry is None or geometry.is_empty else geometry


def _path(geometry: Any, place: Any, css: str) -> str:
    """One <path> for one feature (its parts, rings and holes in one `d`)."""
    parts: list[str] = []
    kinds: set[str] = set()
    _draw(geometry, place, parts, kinds)
    fill = {frozenset({"point"}): ' fill-opacity="0.9"', frozenset({"line"}): ' fill="none"'}
    painted = fill.get(frozenset(kinds), "")
    return f'<path class="feature {escape(css)}"{painted} d="{"".join(parts)}"/>'


def _draw(geometry: Any, place: Any, parts: list[str], kinds: set[str]) -> None:
    kind = geometry.geom_type
    if kind == "Point":
        x, y = place(geometry.x, geometry.y)
        r = POINT_RADIUS
        parts.append(f"M{x - r:g} {y:g}a{r:g} {r:g} 0 1 0 {2 * r:g} 0a{r:g} {r:g} 0 1 0 "
                     f"{-2 * r:g} 0")  # fmt: skip
        kinds.add("point")
    elif kind in ("LineString", "LinearRing"):
        parts.append(_run(geometry.coords, place, closed=False))
        kinds.add("line")
    elif kind == "Polygon":
        for ring in (geometry.exterior, *geometry.interiors):
            parts.append(_run(ring.coords, place, closed=True))
        kinds.add("area")
    else:  # Multi* and collections
        for part in geometry.geoms:
            if not part.is_empty:
                _draw(part, place, parts, kinds)


def _run(coordinates: Any, place: Any, closed: bool) -> str:
    """`M x y L x y x y ...` (Z when closed), leaving out points that fall on the one before."""
    points: list[tuple[float, float]] = []
    for coordinate in coordinates:
        point = place(coordinate[0], coordinate[1])
        if not points or point != points[-1]:
            points.append(point)
    if not points:
        return ""
    first, *rest = points
    if closed and len(rest) > 1 and rest[-1] == first:
        rest.pop()
    line = f"M{first[0]:g} {first[1]:g}"
    if rest:
        line += "L" + " ".join(f"{x:g} {y:g}" for x, y in rest)
    elif not closed:
        line += "l0 0"  # a line shorter than a pixel still shows as its round cap
    return line + ("Z" if closed else "")


def crs_unit(crs: str | None) -> str:
    """The CRS's unit of length in a word or symbol (ft (US), m, °), from PROJ's database;
    empty when unknown."""
    if not crs:
        return ""
    try:
        import pyproj

        axes = pyproj.CRS.from_user_input(crs).axis_info
    except Exception:  # an unknown or unreadable CRS: the caption says just its name
        return ""
    name = axes[0].unit_name if axes else ""
    return UNITS.get(name, name)


def _scale_bar(scale: float, span_x: float, unit: str, y: float) -> str:
    """A bar of a round length (1, 2 or 5 times a power of ten), about a quarter as wide as
    the extent or less."""
    target = span_x / 4
    power = 10 ** math.floor(math.log10(target))
    length = max(step * power for step in (1, 2, 5) if step * power <= target)
    pixels = length * scale
    label = f"{length:,.10g}{' ' + unit if unit and unit != '°' else unit}"
    return (
        f'<g class="scale"><line x1="4" y1="{y:.0f}" x2="{4 + pixels:.1f}" y2="{y:.0f}" '
        f'stroke="#202124" stroke-width="3"/><text x="{10 + pixels:.1f}" y="{y + 4:.0f}">'
        f"{escape(label)}</text></g>"
    )


# -- geometries from DuckDB -------------------------------------------------------------------


def _hash_order(expression: str) -> str:
    """A deterministic order that spreads over the table: by the hash, then the value."""
    return f"ORDER BY hash({expression}), {expression}"


def sample_geometries(
    con: Any,
    relation: str,
    column: str,
    limit: int = MAX_FEATURES,
    where: str = "true",
    simplify: float | None = None,
) -> tuple[list[bytes], int]:
    """At most `limit` geometries of `column` in `relation` (SQL, plain GEOMETRY) as WKB,
    the same ones every time, simplified by `simplify` (CRS units) in DuckDB; and how many
    non-empty ones there are."""
    g = sql_identifier(column)
    kept = f"{g} IS NOT NULL AND NOT ST_IsEmpty({g}) AND ({where})"
    total = int(con.execute(f"SELECT count(*) FROM {relation} WHERE {kept}").fetchone()[0])
    drawn = f"ST_SimplifyPreserveTopology({g}, {simplify!r})" if simplify else g
    rows = con.execute(
        f"SELECT ST_AsWKB({drawn}) FROM {relation} WHERE {kept} "
        f"{_hash_order(f'ST_AsWKB({g})')} LIMIT {int(limit)}"
    ).fetchall()
    return [bytes(row[0]) for row in rows], total


def table_map(con: Any, relation: str, column: str, crs: str | None, title: str) -> str:
    """A map of a geometry column of `relation` (SQL, plain GEOMETRY): a sample of at most
    MAX_FEATURES features over the whole extent (DuckDB's spatial extension loaded in `con`)."""
    g = sql_identifier(column)
    extent = con.execute(
        f"SELECT min(ST_XMin({g})), min(ST_YMin({g})), max(ST_XMax({g})), max(ST_YMax({g})) "
        f"FROM {relation} WHERE {g} IS NOT NULL AND NOT ST_IsEmpty({g})"
    ).fetchone()
    if extent[0] is None:
        return map_svg(title, [Layer("features", "feature", NEW_COLOUR)], crs)
    span = max(extent[2] - extent[0], extent[3] - extent[1])
    features, total = sample_geometries(con, relation, column, simplify=span / WIDTH / 2 or None)
    layer = Layer("features", "all", NEW_COLOUR, list(features), total)
    return map_svg(title, [layer], crs, (extent[0], extent[1], extent[2], extent[3]))


def diff_map(
    con: Any,
    table: TableDiff,
    column: str,
    crs: str | None,
    old_relation: str | None,
    new_relation: str,
) -> str | None:
    """A map of what changed in geometry `column` between two relations (SQL, plain
    GEOMETRY; no old one: every row added): removed rows (old), changed rows' old and new
    shapes, added rows (new), zoomed to them, over a sample of the other new features there.
    None when no geometry was added, removed or changed."""
    import shapely

    q = sql_identifier
    g = q(column)
    share = MAX_FEATURES // 5
    keys = ", ".join(q(k) for k in table.key)
    if old_relation is None:
        added, total = sample_geometries(con, new_relation, column)
        layers = [Layer("added", "added", ADDED_COLOUR, list(added), total)]
    else:
        layers = _change_layers(con, table, column, old_relation, new_relation, share, keys)
    if not any(layer.features for layer in layers):
        return None
    title = f"{table.table}.{column}: what changed"
    if old_relation is None:  # the added rows are all there is
        return map_svg(f"{table.table}.{column}: every row added", layers, crs)
    shapes = [shapely.from_wkb(f) for layer in layers for f in layer.features]
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(shapes))
    pad = max(xmax - xmin, ymax - ymin) * 0.05 or 1.0
    extent = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    envelope = f"ST_MakeEnvelope({extent[0]!r}, {extent[1]!r}, {extent[2]!r}, {extent[3]!r})"
    around, total = sample_geometries(
        con, new_relation, column, limit=share, where=f"ST_Intersects({g}, {envelope})"
    )
    context = Layer("all features here (new)", "context", CONTEXT_COLOUR, list(around), total)
    return map_svg(title, [context, *layers], crs, extent)


def _change_layers(
    con: Any,
    table: TableDiff,
    column: str,
    old_relation: str,
    new_relation: str,
    share: int,
    keys: str,
) -> list[Layer]:
    q = sql_identifier
    g = q(column)
    tolerance = next((s.tolerance for s in table.geometry if s.column == column), 0.0)
    on = " AND ".join(f"o.{q(k)} = n.{q(k)}" for k in table.key)
    order = _hash_order(f"({', '.join(f'o.{q(k)}' for k in table.key)})")
    changed = con.execute(
        f"SELECT ST_AsWKB(o.{g}), ST_AsWKB(n.{g}) FROM {old_relation} AS o JOIN {new_relation} "
        f"AS n ON {on} WHERE {geometry_changed(f'o.{g}', f'n.{g}', tolerance)} {order} "
        f"LIMIT {share}"
    ).fetchall()

    def one_side(first: str, second: str) -> list[bytes]:
        rows = con.execute(
            f"SELECT ST_AsWKB(a.{g}) FROM {first} AS a ANTI JOIN {second} AS b USING ({keys}) "
            f"WHERE a.{g} IS NOT NULL {_hash_order(f'({keys})')} LIMIT {share}"
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    moved = table.columns.get(column, 0)
    return [
        Layer("removed (old)", "removed", REMOVED_COLOUR, one_side(old_relation, new_relation),
              table.removed),
        Layer("changed: old", "old", OLD_COLOUR, [bytes(r[0]) for r in changed if r[0]], moved,
              outline=True),
        Layer("changed: new", "new", CHANGED_COLOUR, [bytes(r[1]) for r in changed if r[1]],
              moved),
        Layer("added (new)", "added", ADDED_COLOUR, one_side(new_relation, old_relation),
              table.added),
    ]  # fmt: skip
