"""Benchmark: `lake build mappluto_lite` vs hand-written DuckDB-spatial SQL of the same spec
(bench/mappluto_lite_sql.py), and vs geopandas doing the same overlay, side by side.

For each size: generate the sources, archive them, build PLUTO-lite once, then, alternating over
several rounds, time (a) a full build of MapPLUTO-lite, (b) the hand-written SQL reading the same
archived GeoParquet and writing the same zstd GeoParquet, (c) geopandas (GEOS via shapely)
computing the same columns; each in a fresh process, so peak memory is that side's alone.
Checks the build equals the SQL and reports how often geopandas agrees; prints a Markdown table.

    python bench/mappluto.py --lots 1000000 [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import measure, peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("dof_pts", "zoning_lots", "dob_jobs", "landmarks", "dtm_lots", "zoning_districts")
PRODUCTS = ("pluto_lite", "mappluto_lite")


def prepare(project: Path, lots: int, seed: int) -> None:
    """A project with the repo's two sample products, sources archived, PLUTO-lite built."""
    from lakehouse.config import init_project, load_config
    from lakehouse.demo import generate_pluto_lite, write_demo_templates
    from lakehouse.demo.mappluto import generate_mappluto_lite
    from lakehouse.project import Lakehouse

    shutil.rmtree(project / "transforms", ignore_errors=True)
    shutil.copytree(
        REPO / "transforms", project / "transforms",
        ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True,
    )  # fmt: skip
    (project / "recipes").mkdir(parents=True, exist_ok=True)
    for product in PRODUCTS:
        shutil.copy(REPO / "recipes" / f"{product}.yml", project / "recipes" / f"{product}.yml")
        shutil.rmtree(project / "contracts" / product, ignore_errors=True)
        shutil.copytree(REPO / "contracts" / product, project / "contracts" / product)
    if (project / "ready").exists():
        return
    init_project(project)
    print(f"generating and archiving {lots:,} lots ...", flush=True)
    generate_pluto_lite(project / "data", lots=lots, seed=seed)
    generate_mappluto_lite(project / "data", lots=lots, seed=seed)
    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    write_demo_templates(lake.config.templates_dir, project / "data", project)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.lock("pluto_lite")
    lake.build("pluto_lite")
    lake.lock("mappluto_lite")
    (project / "ready").touch()


def _inputs(project: Path) -> dict[str, str]:
    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    paths = {d: lake.store.url(lake.manifest(d).data_files[0].path) for d in DATASETS[4:]}
    build = lake.builds("pluto_lite")[-1]
    paths["pluto_lite"] = str(
        Path(lake.store.root) / "builds" / "pluto_lite" / build.build_id / "outputs"
        / "pluto_lite.parquet"
    )  # fmt: skip
    return paths


def run_build(project: Path) -> dict[str, object]:
    import ibis.backends.duckdb  # noqa: F401 - imports are not build work
    import pandera.ibis  # noqa: F401

    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    start = time.perf_counter()
    result = lake.build("mappluto_lite", full_refresh=True)
    seconds = time.perf_counter() - start
    output = (
        Path(lake.store.root) / "builds" / "mappluto_lite" / result.build_id / "outputs"
        / "mappluto_lite.parquet"
    )  # fmt: skip
    return {
        "seconds": seconds,
        "contract_seconds": result.contract_seconds,
        "output": str(output),
        "passed": result.contracts.passed,
    }


def run_sql(project: Path) -> dict[str, object]:
    import duckdb
    from mappluto_lite_sql import mappluto_lite_sql

    from lakehouse.spatial import load_spatial

    paths = _inputs(project)
    output = project / "reference.parquet"
    with duckdb.connect() as con:
        load_spatial(con, project / ".lakehouse")  # loading is not the query's work
        start = time.perf_counter()
        con.execute(
            f"COPY ({mappluto_lite_sql(**paths)}) TO '{output}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
        )
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "output": str(output)}


def run_geopandas(project: Path) -> dict[str, object]:
    """The same rules with geopandas and shapely (GEOS), the way a GIS analyst would write them."""
    import geopandas
    import numpy as np
    import pandas as pd
    import shapely

    paths = _inputs(project)
    output = project / "geopandas.parquet"
    start = time.perf_counter()
    parts = geopandas.read_parquet(paths["dtm_lots"])
    parts["bbl"] = parts["bbl"].str.strip().astype("int64")
    parts["geom"] = shapely.make_valid(parts.geometry.values)
    lots = parts.set_geometry("geom").dissolve(by="bbl")[["geom"]].reset_index()
    polygons = shapely.get_parts(lots.geometry.values, return_index=True)
    keep = shapely.get_type_id(polygons[0]) == 3  # polygons only, as ST_CollectionExtract(3)
    merged = (
        pd.Series(polygons[0][keep])
        .groupby(polygons[1][keep])
        .agg(lambda g: shapely.multipolygons(list(g)))
    )
    lots["geom"] = geopandas.GeoSeries(merged.reindex(range(len(lots))).values, crs=lots.crs)
    lots = lots.set_geometry("geom")
    lots["area"] = lots.area
    districts = geopandas.read_parquet(paths["zoning_districts"])
    districts["zd"] = districts["zonedist"].str.strip().replace({"": None, "N/A": None}).str.upper()
    districts = districts[districts["zd"].notna()].to_crs("EPSG:2263")[["zd", "geom"]]
    pieces = geopandas.overlay(
        lots[["bbl", "area", "geom"]], districts, how="intersection", keep_geom_type=True
    )
    pieces["covered"] = pieces.area
    shares = pieces.groupby(["bbl", "zd", "area"], as_index=False)["covered"].sum()
    shares["pct"] = (100 * shares["covered"] / shares["area"]).round(2)
    counted = shares[shares["pct"] >= 10].sort_values(
        ["bbl", "pct", "zd"], ascending=[True, False, True]
    )
    counted["rank"] = counted.groupby("bbl").cumcount()
    zoning = counted.pivot_table(index="bbl", columns="rank", values="zd", aggfunc="first")
    zoning = zoning.reindex(columns=[0, 1]).rename(columns={0: "zonedist1", 1: "zonedist2"})
    zoning["splitzone"] = counted.groupby("bbl").size() > 1
    base = pd.read_parquet(
        paths["pluto_lite"], columns=["bbl", "borough", "block", "lot", "lotarea"]
    )
    result = base.merge(lots, on="bbl", how="left").merge(zoning, on="bbl", how="left")
    result = geopandas.GeoDataFrame(result, geometry="geom", crs="EPSG:2263")
    centroids = result.geometry.centroid.to_crs("EPSG:4326")
    result["lotarea_gis"] = result.area.round(2).where(result.geometry.notna())
    result["splitzone"] = result["splitzone"].fillna(False).astype(bool)
    result["longitude"] = np.round(centroids.x, 7)
    result["latitude"] = np.round(centroids.y, 7)
    columns = ["bbl", "borough", "block", "lot", "lotarea", "lotarea_gis", "zonedist1",
               "zonedist2", "splitzone", "longitude", "latitude", "geom"]  # fmt: skip
    result[columns].sort_values("bbl").to_parquet(output, compression="zstd")
    return {"seconds": time.perf_counter() - start, "output": str(output)}


def compare(project: Path, build: str, sql: str, pandas_output: str) -> tuple[bool, float]:
    """Whether the build equals the SQL (attributes exactly, geometries as normalised WKB or
    within 0.01 sq ft of symmetric difference), and the share of rows where geopandas gives the
    same zoning and area (GEOS and DuckDB's geometry engine differ in the last bits)."""
    import duckdb
    from mappluto_lite_sql import differences

    from lakehouse.spatial import load_spatial

    with duckdb.connect() as con:
        load_spatial(con, project / ".lakehouse")
        for name, path in (("ours", build), ("ref", sql), ("gpd", pandas_output)):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        same = differences(con, "ours", "ref") == (0, 0)
        agree = con.execute(
            "SELECT avg((o.zonedist1 IS NOT DISTINCT FROM g.zonedist1 AND o.zonedist2 IS NOT "
            "DISTINCT FROM g.zonedist2 AND abs(coalesce(o.lotarea_gis - g.lotarea_gis, 0)) "
            "<= 0.01)::INT) FROM ours o JOIN gpd g USING (bbl)"
        ).fetchone()[0]  # type: ignore[index]
    return same, float(agree)


def bench_size(lots: int, rounds: int, work: Path, seed: int, with_geopandas: bool) -> list[str]:
    project = work / f"mappluto_{lots}_{seed}"
    prepare(project, lots, seed)
    runs: dict[str, list[dict[str, object]]] = {"sql": [], "build": [], "geopandas": []}
    for number in range(1, rounds + 1):
        for kind in runs:
            if kind == "geopandas" and (not with_geopandas or number > 1):
                continue  # one geopandas round: it is the slow side by far
            runs[kind].append(measure(kind, project, __file__))
        print(
            f"{lots:,} lots, round {number}: "
            + ", ".join(f"{k} {v[-1]['seconds']:.2f} s" for k, v in runs.items() if v),
            flush=True,
        )
    ref = statistics.median(float(s["seconds"]) for s in runs["sql"])
    ours = statistics.median(float(b["seconds"]) for b in runs["build"])
    contracts = statistics.median(float(b["contract_seconds"]) for b in runs["build"])
    peak = {kind: max(float(r["peak_mb"]) for r in v) for kind, v in runs.items() if v}
    lines = [
        f"| {lots:,} | hand-written DuckDB-spatial SQL | {ref:.2f} | 1.00 | {peak['sql']:,.0f} | |",
    ]
    same, agree = True, None
    if runs["geopandas"]:
        same, agree = compare(
            project, str(runs["build"][-1]["output"]), str(runs["sql"][-1]["output"]),
            str(runs["geopandas"][-1]["output"]),
        )  # fmt: skip
    lines.append(
        f"| {lots:,} | `lake build mappluto_lite --full-refresh` | {ours:.2f} | {ours / ref:.2f} | "
        f"{peak['build']:,.0f} | {'identical' if same else 'DIFFERENT'} |"
    )
    lines.append(
        f"| {lots:,} | the build without its contract checks | {ours - contracts:.2f} | "
        f"{(ours - contracts) / ref:.2f} | | |"
    )
    if runs["geopandas"]:
        pandas_seconds = float(runs["geopandas"][0]["seconds"])
        lines.append(
            f"| {lots:,} | geopandas (GEOS) overlay, same rules | {pandas_seconds:.2f} | "
            f"{pandas_seconds / ref:.2f} | {peak['geopandas']:,.0f} | "
            f"{agree:.2%} of rows agree |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-geopandas", action="store_true", help="skip the geopandas side")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--one", choices=["build", "sql", "geopandas"], help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run = {"build": run_build, "sql": run_sql, "geopandas": run_geopandas}[args.one]
        result = run(args.project)
        result["peak_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    lines = []
    for lots in args.lots:
        lines.extend(
            bench_size(lots, args.rounds, args.work.resolve(), args.seed, not args.no_geopandas)
        )
    print()
    print("| lots | what | median s | ratio | peak MB | output |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
