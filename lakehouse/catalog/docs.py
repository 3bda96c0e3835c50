"""The documentation site: static HTML pages (styles inline, no scripts, nothing fetched) with
an index, a page per product (dictionary, sources and their versions, lineage drawing and
column lineage, a map of each output's geometry, the latest contract results, its builds) and a
page per dataset (versions). A damaged record is named where it would be shown (a version whose
manifest is damaged, a published version whose publish.json is damaged), and the rest of the
site is whole.

Tracing a product's column lineage (compiling every model to SQL and tracing each output
column through it) is most of the time a site takes; reading a build's contract report and
drawing its maps load pyarrow and DuckDB. So they are kept in the workspace (`DocsCache`:
`<workspace>/docs-cache/<product>/<kind>-<key>.json`) under a key of everything they are made
from: a lineage, of the recipe's outputs, the lock's exact inputs and each model's code
fingerprint; contract results, of the build id; maps, of the build id and its outputs' sha256;
each also of the lakehouse's own code and the versions of the packages that make it. A change to
any of them gives another key, so kept content is never shown for what it was not made from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.archive.archive import Archive
from lakehouse.catalog.catalog import DatasetEntry, ProductEntry, catalog
from lakehouse.catalog.docs_cache import DocsCache, content_key
from lakehouse.config import LakehouseConfig
from lakehouse.errors import LakehouseError
from lakehouse.publish.publish import qa_line
from lakehouse.qa.diff import describe_parquet, geometry_columns, parquet_relation, use_spatial
from lakehouse.render.dag import dag_svg
from lakehouse.render.html import escape as _e
from lakehouse.render.html import page
from lakehouse.render.html import table as _table
from lakehouse.render.maps import MAX_FEATURES, table_map
from lakehouse.store.storage import Store, replace_whole
from lakehouse.transform.index import contract_results, list_builds, output_files
from lakehouse.transform.lineage import Lineage, describe_rows
from lakehouse.transform.models import load_models
from lakehouse.transform.products import lineage_of, product_lock
from lakehouse.transform.recipe import load_recipe, read_lock

if TYPE_CHECKING:
    from lakehouse.archive.manifest import Manifest
    from lakehouse.contracts.dictionary import TableEntry
    from lakehouse.transform.records import BuildRecord

BUILDS_SHOWN = 10  # a product page lists its latest builds, newest first
DOCS_CACHE = "docs-cache"  # <workspace>/docs-cache/<product>/: what a site keeps between runs
CONTRACT_ROWS = list[dict[str, Any]]


@dataclass
class ProductBuilds:
    """A product's builds as its page shows them: the latest ones, and the rows of the latest
    one's contract report."""

    recent: list[BuildRecord] = field(default_factory=list)  # the latest, oldest first
    contract_rows: list[dict[str, Any]] = field(default_factory=list)  # of recent[-1]

    @property
    def latest(self) -> BuildRecord | None:
        return self.recent[-1] if self.recent else None


@dataclass
class OutputMap:
    """A map of one geometry column of an output of a product's latest build (inline SVG), or
    why there is none."""

    output: str
    column: str
    build_id: str
    svg: str = ""
    problem: str = ""


@dataclass
class SiteContent:
    """Everything the site shows, gathered before a page is written."""

    products: list[ProductEntry]
    datasets: list[DatasetEntry]
    manifests: dict[str, list[Manifest]]  # dataset -> its versions, oldest first
    lineages: dict[str, tuple[Lineage | None, str]]  # product -> its lineage, or the problem
    builds: dict[str, ProductBuilds]  # product -> its latest builds and contract results
    maps: dict[str, list[OutputMap]] = field(default_factory=dict)  # product -> its maps


@dataclass
class DocsSite:
    folder: Path
    pages: list[Path]

    @property
    def index(self) -> Path:
        return self.folder / "index.html"


def write_project_docs(
    config: LakehouseConfig, store: Store, archive: Archive, folder: Path | None = None
) -> DocsSite:
    """Gather what the project's site shows and write it into `folder` (default:
    <workspace>/docs)."""
    kept = DocsCache(config.workspace_dir / DOCS_CACHE)
    products, datasets = catalog(archive, config.recipes_dir, config.contracts_dir)
    builds = {product.name: product_builds(store, product.name, kept) for product in products}
    site = SiteContent(
        products,
        datasets,
        {dataset.name: archive.scan_versions(dataset.name).manifests for dataset in datasets},
        {p.name: _lineage_or_problem(config, store, archive, p.name, kept) for p in products},
        builds,
        {name: product_maps(store, found.latest, config.workspace_dir, kept)
         for name, found in builds.items()},
    )  # fmt: skip
    return write_docs(site, folder or config.workspace_dir / "docs")


def _lineage_or_problem(
    config: LakehouseConfig, store: Store, archive: Archive, product: str, kept: DocsCache
) -> tuple[Lineage | None, str]:
    try:
        return kept_lineage(config, store, archive, product, kept), ""
    except LakehouseError as exc:
        return None, str(exc)
    except Exception as exc:  # one product's lineage must not stop the whole site
        return None, f"{exc.__class__.__name__}: {exc}"


def kept_lineage(
    config: LakehouseConfig, store: Store, archive: Archive, product: str, kept: DocsCache
) -> Lineage:
    """The product's lineage as `lineage_of` traces it, read from `kept` when it was traced
    before from the same outputs, inputs and code (else traced and kept)."""
    key = lineage_key(config, archive, product)
    found = kept.read(product, "lineage", key, Lineage)
    if isinstance(found, Lineage):
        return found
    traced = lineage_of(config, store, archive, product)
    if lineage_key(config, archive, product) == key:  # nothing changed while it was traced
        kept.keep(product, "lineage", key, traced, Lineage)
    return traced


def lineage_key(config: LakehouseConfig, archive: Archive, product: str) -> str:
    """A digest of everything a product's lineage is traced from (nothing is compiled)."""
    recipe = load_recipe(config.recipes_dir, product)
    lock = read_lock(config.recipes_dir, product) or product_lock(
        config, archive, recipe, latest=True
    )
    models = load_models(config.transforms_dir, product)
    return content_key(
        "lineage",
        product,
        list(recipe.outputs),
        {alias: pinned.model_dump(mode="json") for alias, pinned in lock.inputs.items()},
        {
            name: [found.code_hash, found.layer, found.defined_in, list(found.inputs)]
            for name, found in models.items()
        },
    )


def product_builds(store: Store, product: str, kept: DocsCache | None = None) -> ProductBuilds:
    """The latest builds of a product and the rows of the latest one's contract report (kept
    in `kept` by build id: a build's report never changes)."""
    recent = list_builds(store, product)[-BUILDS_SHOWN:]
    if not recent:
        return ProductBuilds()
    build_id = recent[-1].build_id
    key = content_key("contracts", build_id)
    rows = kept.read(product, "contracts", key, CONTRACT_ROWS) if kept else None
    if rows is None:
        rows = contract_results(store, product, build_id)
        if kept:
            kept.keep(product, "contracts", key, rows, CONTRACT_ROWS)
    return ProductBuilds(recent, rows)


def product_maps(
    store: Store, build: BuildRecord | None, workspace: Path, kept: DocsCache | None = None
) -> list[OutputMap]:
    """A map of every geometry column of the build's outputs (kept in `kept` by build and
    the outputs' sha256); an output that cannot be read gets its problem instead of a map
    (and nothing is kept: it is tried again)."""
    if build is None:
        return []
    key = content_key("maps", build.build_id, {n: o.sha256 for n, o in build.outputs.items()})
    found = kept.read(build.product, "maps", key, list[OutputMap]) if kept else None
    if found is None:
        found = draw_maps(store, build, workspace)
        if kept and not any(drawn.problem for drawn in found):
            kept.keep(build.product, "maps", key, found, list[OutputMap])
    return found


def draw_maps(store: Store, build: BuildRecord, workspace: Path) -> list[OutputMap]:
    """A map of every geometry column of the build's outputs (DuckDB's spatial extension,
    installed once into `workspace`, loaded for them); an output that cannot be read gets its
    problem instead of a map."""
    import duckdb

    found = []
    with duckdb.connect() as con:
        store.register_in_duckdb(con)
        for output, path in output_files(build).items():
            url = store.url(path)
            try:
                columns = geometry_columns(describe_parquet(con, url))
                if columns:
                    use_spatial(con, workspace)
                relation = parquet_relation(url, list(columns))
                for column, crs in columns.items():
                    title = f"{output}.{column}, build {build.build_id}"
                    svg = table_map(con, relation, column, crs, title)
                    found.append(OutputMap(output, column, build.build_id, svg))
            except Exception as exc:  # one output's map must not stop the whole site
                problem = f"{exc.__class__.__name__}: {exc}"
                found.append(OutputMap(output, "", build.build_id, problem=problem))
    return found


def write_docs(site: SiteContent, folder: Path) -> DocsSite:
    """Write the site into `folder` (pages are replaced; nothing else there is touched)."""
    products, datasets = site.products, site.datasets
    folder.mkdir(parents=True, exist_ok=True)
    pages = [_write(folder / "index.html", "Data catalog", _index_body(products, datasets))]
    for product in products:
        body = _product_body(site, product)
        pages.append(_write(folder / f"product-{product.name}.html", product.name, body))
    for dataset in datasets:
        body = _dataset_body(dataset, site.manifests.get(dataset.name, []))
        pages.append(_write(folder / f"dataset-{dataset.name}.html", dataset.name, body))
    return DocsSite(folder, pages)


def _write(path: Path, title: str, body: str) -> Path:
    nav = "<nav><a href='index.html'>Data catalog</a></nav>"
    html = page(title, body, nav)
    replace_whole(path, lambda temporary: temporary.write_text(html, encoding="utf-8"))
    return path


def _index_body(products: list[ProductEntry], datasets: list[DatasetEntry]) -> str:
    product_rows = [
        [
            f"<a href='product-{_e(p.name)}.html'>{_e(p.name)}</a>",
            _e(p.description),
            _e(p.owner),
            _e(", ".join(p.inputs.values())),
            _status(p.latest_status)
            + (f" <code>{_e(p.latest_build)}</code>" if p.latest_build else ""),
        ]
        for p in products
    ]
    dataset_rows = [
        [
            f"<a href='dataset-{_e(d.name)}.html'>{_e(d.name)}</a>",
            _e(len(d.versions)) + (f" (and {len(d.damaged)} damaged)" if d.damaged else ""),
            _e(d.latest) if not d.damaged else "<span class='status-failed'>unknown</span>",
            _e(f"{d.rows:,}" if d.rows is not None else ""),
            _e(d.source),
        ]
        for d in datasets
    ]
    return (
        "<h1>Data catalog</h1><p class='lead'>Products built here and the raw datasets they read."
        "</p><h2>Products</h2>"
        + _table(["product", "description", "owner", "inputs", "latest build"], product_rows)
        + "<h2>Datasets</h2>"
        + _table(["dataset", "versions", "latest", "rows (latest)", "source"], dataset_rows)
    )


def _status(status: str | None) -> str:
    if status is None:
        return "not built"
    return f"<span class='status-{_e(status)}'>{_e(status)}</span>"


def _product_body(site: SiteContent, product: ProductEntry) -> str:
    parts = [
        f"<h1>{_e(product.name)}</h1><p class='lead'>{_e(product.description)}</p>",
        f"<p>Owner: {_e(product.owner)}. Outputs: "
        + ", ".join(f"<code>{_e(o)}</code>" for o in product.outputs)
        + ".</p>",
    ]
    lineage, problem = site.lineages.get(product.name, (None, "no lineage was gathered"))
    parts.append(_sources_section(site, product, lineage))
    parts.append(_dictionary_section(product, lineage))
    parts.append(_maps_section(site.maps.get(product.name, [])))
    parts.append(_lineage_section(lineage, problem, product))
    parts.append(_published_section(product))
    parts.append(_builds_section(product.name, site.builds.get(product.name, ProductBuilds())))
    return "".join(parts)


def _sources_section(site: SiteContent, product: ProductEntry, lineage: Lineage | None) -> str:
    pinned = {n.name: n.detail for n in lineage.nodes if n.layer == "source"} if lineage else {}
    rows = []
    for alias, wanted in product.inputs.items():
        dataset = wanted.split(" ")[0]
        archived = [m.version for m in site.manifests.get(dataset, [])]
        rows.append(
            [
                f"<code>{_e(alias)}</code>",
                f"<a href='dataset-{_e(dataset)}.html'>{_e(wanted)}</a>"
                if archived
                else _e(wanted),
                _e(pinned.get(alias, "")),
                _e(", ".join(archived[-5:]) + (" ..." if len(archived) > 5 else "")),
            ]
        )
    return "<h2>Sources</h2>" + _table(
        ["input", "recipe asks for", "locked version", "archived versions (latest 5)"], rows
    )


def _maps_section(maps: list[OutputMap]) -> str:
    """Each geometry column of the latest build's outputs on a map (a sample of big tables)."""
    if not maps:
        return ""
    parts = [
        "<h2>Maps</h2><p>The geometry of each output of build "
        f"<code>{_e(maps[0].build_id)}</code> (at most {MAX_FEATURES:,} features each, the "
        "same sample every time).</p><div class='figures'>"
    ]
    for found in maps:
        if found.svg:
            parts.append(f"<div class='figure'>{found.svg}</div>")
        else:
            parts.append(f"<p>No map of {_e(found.output)}: {_e(found.problem)}</p>")
    parts.append("</div>")
    return "".join(parts)


def _lineage_section(lineage: Lineage | None, problem: str, product: ProductEntry) -> str:
    """The drawing; and column lineage for outputs the dictionary (which shows it) lacks."""
    if lineage is None:
        return f"<h2>Lineage</h2><p>Lineage is not available: {_e(problem)}</p>"
    parts = [
        "<h2>Lineage</h2><div class='figure'>",
        dag_svg(f"lineage of {lineage.product}", lineage.nodes, lineage.edges),
        "</div>",
    ]
    described = set(product.dictionary.tables) if product.dictionary else set()
    for output, columns in lineage.columns.items():
        if output in described:
            continue
        rows = [
            [f"<code>{_e(name)}</code>", _e(", ".join(sources) or "(constant)")]
            for name, sources in columns.items()
        ]
        parts.append(f"<h3>Columns of {_e(output)}</h3>")
        parts.append(_table(["column", "computed from"], rows))
        parts.append(_rows_paragraph(lineage, output))
    return "".join(parts)


def _rows_paragraph(lineage: Lineage | None, output: str) -> str:
    """What decides the rows of an output (the joins, filters and groupings every column of
    it shares), once per table; what decides only some columns' rows is in their own lines."""
    if lineage is None:
        return ""
    lines = describe_rows(lineage.shared_rows(output))
    own = {
        column: describe_rows(lineage.own_rows(output, column))
        for column in lineage.columns.get(output, {})
    }
    own_lines = [f"{column}: {line}" for column, found in own.items() for line in found]
    if not lines and not own_lines:
        return ""
    items = "".join(f"<li>{_e(line)}</li>" for line in lines)
    also = "".join(f"<li>{_e(line)}</li>" for line in own_lines)
    shared = f"<p>Rows of {_e(output)} decided by:</p><ul>{items}</ul>" if lines else ""
    some = f"<p>Rows of some columns also decided by:</p><ul>{also}</ul>" if own_lines else ""
    return shared + some


def _dictionary_section(product: ProductEntry, lineage: Lineage | None) -> str:
    if product.dictionary is None:
        return "<h2>Data dictionary</h2><p>This product has no data dictionary yet.</p>"
    parts = ["<h2>Data dictionary</h2>"]
    for name, table in product.dictionary.tables.items():
        traced = lineage.columns.get(name, {}) if lineage else {}
        parts.append(_dictionary_table(name, table, traced))
        parts.append(_rows_paragraph(lineage, name))
    return "".join(parts)


def _dictionary_table(name: str, table: TableEntry, traced: dict[str, list[str]]) -> str:
    """The dictionary's columns, with the hand-written source beside the one lineage traced."""
    key = ", ".join(table.primary_key) or "none"
    rows = [
        [
            f"<code>{_e(c.name)}</code>",
            _e(c.storage_type),
            "yes" if c.nullable else "no",
            _e(c.rules_text()),
            _e(c.description),
            _e(c.source),
            _e(", ".join(traced.get(c.name, []))),
        ]
        for c in table.columns
    ]
    return (
        f"<h3>{_e(name)}</h3><p>{_e(table.description)} Primary key: <code>{_e(key)}</code>.</p>"
        + _table(
            [
                "column",
                "type",
                "empty allowed",
                "constraints",
                "description",
                "source",
                "traced from (lineage)",
            ],
            rows,
        )
    )


def _published_section(product: ProductEntry) -> str:
    damaged = "".join(
        f"<p class='status-failed'>Published version <code>{_e(version)}</code> is damaged (its "
        "<code>publish.json</code> cannot be read): run <code>lake verify</code>.</p>"
        for version in product.damaged_published
    )
    if not product.published:
        return damaged + (
            "<h2>Published versions</h2><p>None yet: <code>lake publish "
            f"{_e(product.name)}</code> publishes a passed build that has a QA report.</p>"
        )
    rows = [
        [
            f"<code>{_e(entry.version)}</code>",
            _e(_when(entry.published_at)),
            f"<code>{_e(entry.build_id)}</code>",
            _e(", ".join(entry.inputs.values())),
            _e("; ".join(qa_line(qa) for qa in entry.qa)),
        ]
        for entry in reversed(product.published)
    ]
    return (
        "<h2>Published versions</h2>"
        + damaged
        + _table(["version", "published (UTC)", "build", "sources", "QA"], rows)
    )


def _builds_section(product: str, builds: ProductBuilds) -> str:
    latest = builds.latest
    if latest is None:
        return (
            "<h2>Latest contract results</h2><p>Not built yet: run "
            f"<code>lake build {_e(product)}</code>.</p>"
        )
    rows = []
    for r in builds.contract_rows:
        css, word = (
            ("pass", "pass")
            if r["passed"]
            else (("fail", "FAIL") if r["severity"] == "error" else ("warn", "warn"))
        )
        samples = json.loads(r["sample_keys"]) if r["sample_keys"] else []
        rows.append(
            [
                f"<span class='{css}'>{word}</span>",
                _e(r.get("layer", "")),
                _e(r["table"]),
                _e(r["rule"]),
                _e(r["detail"]),
                _e(f"{r['failing_rows']:,}"),
                _e(", ".join(json.dumps(s, default=str) for s in samples)),
            ]
        )
    summary = latest.contracts.summary
    history = [
        [
            f"<code>{_e(b.build_id)}</code>",
            _status(b.status),
            _e(_when(b.finished_at)),
            _e((b.git.commit or "")[:10]),
            _e(", ".join(f"{k.split('/')[-1]}: {v.rows:,} rows" for k, v in b.outputs.items())),
        ]
        for b in reversed(builds.recent)
    ]
    return (
        f"<h2>Latest contract results</h2><p>Build <code>{_e(latest.build_id)}</code> "
        f"({_status(latest.status)}): {_e(summary)}.</p>"
        + _table(["", "layer", "table", "rule", "detail", "failing rows", "sample keys"], rows)
        + "<h2>Builds</h2>"
        + _table(["build", "status", "finished (UTC)", "commit", "outputs"], history)
    )


def _when(moment: datetime) -> str:
    """A recorded time as the pages show it: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _dataset_body(dataset: DatasetEntry, manifests: list[Manifest]) -> str:
    rows = [
        [
            f"<code>{_e(m.version)}</code>",
            _e(m.version_origin),
            _e(m.extracted_at.strftime("%Y-%m-%d %H:%M")),
            _e(f"{m.row_count:,}"),
            _e(len(m.columns)),
            _e(m.storage),
            _e(m.contract.summary if m.contract else "no raw contract"),
        ]
        for m in reversed(manifests)
    ]
    parts = [
        f"<h1>{_e(dataset.name)}</h1><p class='lead'>Raw dataset from {_e(dataset.source)}</p>",
        "<h2>Versions</h2>",
        "".join(
            f"<p class='status-failed'>Version <code>{_e(version)}</code> is damaged (its "
            "manifest cannot be read), so which version is the latest cannot be told: run "
            "<code>lake verify</code>.</p>"
            for version in dataset.damaged
        ),
        _table(
            [
                "version",
                "named from",
                "extracted (UTC)",
                "rows",
                "columns",
                "storage",
                "raw contract",
            ],
            rows,
        ),
    ]
    if manifests:
        latest = manifests[-1]
        columns = [[f"<code>{_e(c.name)}</code>", _e(c.type)] for c in latest.columns]
        which = " (the newest version that reads)" if dataset.damaged else ""
        parts.append(f"<h2>Columns of {_e(latest.version)}{which}</h2>")
        parts.append(_table(["column", "type"], columns))
    return "".join(parts)
