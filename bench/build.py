"""Benchmark: `lake build pluto_lite` vs hand-written DuckDB SQL of the same spec, side by side.

For each size: generate the sources, archive them, then, alternating over several rounds, time
(a) a full build (`full_refresh`: every model recomputed) and (b) the hand-written SQL reading
the same archived Parquet and writing the same zstd Parquet; each in a fresh process, so peak
memory (max RSS) is that side's alone. Checks both outputs are identical, times a no-op rebuild,
and prints a Markdown table of medians and ratios.

    python bench/build.py --lots 200000 1000000 [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("dof_pts", "zoning_lots", "dob_jobs", "landmarks")
BREAKDOWNS: list[str] = []  # the rows of the table of each size's build by part


def prepare(project: Path, lots: int, seed: int) -> None:
    """A project with the repo's recipe and transforms and the generated sources archived."""
    from lakehouse.config import init_project, load_config
    from lakehouse.demo import generate_pluto_lite, write_demo_templates
    from lakehouse.project import Lakehouse

    # always the current transforms and recipe; the archived sources are reused when present
    shutil.rmtree(project / "transforms", ignore_errors=True)
    shutil.copytree(
        REPO / "transforms",
        project / "transforms",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    (project / "recipes").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "recipes" / "pluto_lite.yml", project / "recipes" / "pluto_lite.yml")
    shutil.rmtree(project / "contracts", ignore_errors=True)
    shutil.copytree(REPO / "contracts" / "pluto_lite", project / "contracts" / "pluto_lite")
    if (project / "ready").exists():
        return
    init_project(project)
    print(f"generating and archiving {lots:,} lots ...", flush=True)
    generate_pluto_lite(project / "data", lots=lots, seed=seed)
    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    write_demo_templates(lake.config.templates_dir, project / "data", project)
    for dataset in DATASETS:
        lake.ingest(dataset)
    lake.lock("pluto_lite")
    (project / "ready").touch()


# the parts of a build, as the breakdown names them (a model's part is charged by its layer)
PARTS = {
    "start": "opening the engine, fingerprints, the lock's inputs as views",
    "checking": "checking the archived inputs (sizes and sha256s)",
    "staging": "staging models (views) and their contracts",
    "intermediate": "intermediate models (views)",
    "product": "the product: its query, written (zstd), its content hash, the cache",
    "checking contracts": "the output's contract (the data dictionary's rules)",
    "recording the build": "closing the engine, the build folder, build.json",
}


class PartClock:
    """A progress reporter that charges the time since the last message to the part of the
    build that message started: 'model <name>' to that model, the rest by their words."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.part, self.since = "start", time.perf_counter()

    def __call__(self, task: str, done: int, total: int | None = None) -> None:
        if task.startswith("model "):
            self.lap(task.removeprefix("model "))
        elif task in ("checking contracts", "recording the build"):
            self.lap(task)
        elif task.startswith("checking "):  # an archived input
            self.lap("checking")
        # (any other message, a note about the cache, belongs to the part under way)

    def lap(self, next_part: str) -> None:
        now = time.perf_counter()
        self.seconds[self.part] = self.seconds.get(self.part, 0.0) + now - self.since
        self.part, self.since = next_part, now


def run_build(project: Path, full_refresh: bool) -> dict[str, object]:
    import ibis.backends.duckdb  # noqa: F401 - imports are not build work (the SQL side's neither)
    import pandera.ibis  # noqa: F401 - nor is importing pandera (0.45 s with pandas, once a process)

    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    clock = PartClock()
    start = time.perf_counter()
    result = lake.build("pluto_lite", full_refresh=full_refresh, progress=clock)
    seconds = time.perf_counter() - start
    clock.lap("recording the build")
    layers = {run.name: run.layer for run in result.models}
    parts: dict[str, float] = {}
    for part, spent in clock.seconds.items():
        name = PARTS[layers.get(part, part)]
        parts[name] = parts.get(name, 0.0) + spent
    output = Path(lake.store.root) / result.folder / "outputs" / "pluto_lite.parquet"
    return {
        "seconds": seconds,
        "contract_seconds": result.contract_seconds,
        "staging_rules": sum(r.layer == "staging" for r in result.contracts.results),
        "product_rules": sum(r.layer == "product" for r in result.contracts.results),
        "output": str(output),
        "cached": result.all_cached,
        "parts": parts,
    }


def run_sql(project: Path) -> dict[str, object]:
    import duckdb

    sys.path.insert(0, str(REPO / "bench"))
    from pluto_lite_sql import pluto_lite_sql

    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    paths = {d: lake.store.url(lake.manifest(d).data_files[0].path) for d in DATASETS}
    output = project / "reference.parquet"
    start = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(
            f"COPY ({pluto_lite_sql(**paths)}) TO '{output}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
        )
    return {"seconds": time.perf_counter() - start, "output": str(output)}


def measure(kind: str, project: Path, script: str = __file__) -> dict[str, object]:
    """Run one side (`script --one kind`) in a fresh process; add its peak memory in MB."""
    completed = subprocess.run(
        [sys.executable, script, "--one", kind, "--project", str(project)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's own peak resident memory. Linux's ru_maxrss is not it for a process
    started from a big parent: exec keeps the parent's high-water mark (the 5.7 GB once seen
    after generating 10M lots in the parent); /proc's VmHWM belongs to this process's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def identical(a: str, b: str) -> bool:
    import pyarrow.parquet as pq

    return pq.read_table(a).equals(pq.read_table(b))


def bench_size(lots: int, rounds: int, work: Path, seed: int) -> list[str]:
    project = work / f"project_{lots}_{seed}"
    prepare(project, lots, seed)
    builds, sqls = [], []
    for number in range(1, rounds + 1):
        sqls.append(measure("sql", project))
        builds.append(measure("build", project))
        print(
            f"{lots:,} lots, round {number}: hand SQL {sqls[-1]['seconds']:.2f} s, "
            f"lake build {builds[-1]['seconds']:.2f} s",
            flush=True,
        )
    noop = measure("noop", project)
    same = identical(str(builds[-1]["output"]), str(sqls[-1]["output"]))
    ref = statistics.median(float(s["seconds"]) for s in sqls)
    ours = statistics.median(float(b["seconds"]) for b in builds)
    contracts = statistics.median(float(b["contract_seconds"]) for b in builds)
    ref_mb = max(float(s["peak_mb"]) for s in sqls)
    ours_mb = max(float(b["peak_mb"]) for b in builds)
    parts = [
        f"| {lots:,} | {name} | "
        f"{statistics.median(float(b['parts'].get(name, 0.0)) for b in builds):.2f} |"  # type: ignore[attr-defined]
        for name in PARTS.values()
    ]
    BREAKDOWNS.extend(parts)
    return [
        f"| {lots:,} | hand-written DuckDB SQL | {ref:.2f} | 1.00 | {ref_mb:,.0f} | |",
        f"| {lots:,} | `lake build pluto_lite --full-refresh` | {ours:.2f} | {ours / ref:.2f} | "
        f"{ours_mb:,.0f} | {'identical' if same else 'DIFFERENT'} |",
        f"| {lots:,} | the build without its contract checks | {ours - contracts:.2f} | "
        f"{(ours - contracts) / ref:.2f} | | |",
        f"| {lots:,} | the contract checks ({builds[-1]['staging_rules']} staging rules, "
        f"{builds[-1]['product_rules']} on the output) | {contracts:.2f} | "
        f"+{contracts / (ours - contracts):.0%} | | |",
        f"| {lots:,} | no-op rebuild (all cached) | {float(noop['seconds']):.2f} | | "
        f"{float(noop['peak_mb']):,.0f} | {'all cached' if noop['cached'] else 'NOT cached'} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--one", choices=["build", "noop", "sql"], help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.one == "sql":
            result = run_sql(args.project)
        else:
            result = run_build(args.project, full_refresh=args.one == "build")
        result["peak_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    lines = []
    for lots in args.lots:
        lines.extend(bench_size(lots, args.rounds, args.work.resolve(), args.seed))
    print()
    print("| lots | what | median s | ratio | peak MB | output |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))
    print()
    print("| lots | a full build, by part (median of the rounds) | s |")
    print("|---|---|---|")
    print("\n".join(BREAKDOWNS))


if __name__ == "__main__":
    main()
