"""Benchmark: archiving the PLUTO-lite sources vs DuckDB's own `COPY ... TO parquet`, side by side.

Both sides read the same generated CSVs and write zstd Parquet on the same disk, in the same
process, alternating, several rounds; the figure is the ratio of the medians. The archive side
does everything an ingest does (checksums, keeping the original bytes, text columns, manifest).
The new version's time is also broken down by the steps the ingest reports (its progress), with
the CPU time of the process beside the wall time (DuckDB runs on every core).

    python bench/ingest.py --lots 1000000 [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import yaml

from lakehouse.archive.template import IngestTemplate
from lakehouse.config import LakehouseConfig
from lakehouse.demo import SOURCE_FILES, demo_template_text, generate_pluto_lite
from lakehouse.progress import no_progress
from lakehouse.project import Lakehouse


def duckdb_copy(sources: dict[str, Path], out: Path) -> None:
    """The reference: DuckDB reads each CSV (its own type sniffing) and writes zstd Parquet."""
    with duckdb.connect() as con:
        for name, path in sources.items():
            con.execute(
                f"COPY (SELECT * FROM read_csv('{path}')) TO '{out / name}.parquet' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )


# the steps an ingest reports (the start of its progress messages), as the breakdown names them
STEPS = {
    "checksumming": "checksums of the original bytes",
    "converting": "CSV -> Parquet (the template's conversion)",
    "checking the raw contract": "raw contract",
    "profiling": "profile of the new data",
    "source QA against": "source QA: reading the version before",
    "source QA: profiling": "profile of the new data",
    "source QA: drift": "source QA: top values, keys added and removed",
    "source QA: histograms": "source QA: histograms (the new version's; the one before's stored)",
    "storing": "storing originals, data, QA files and manifest",
    "archived": "storing originals, data, QA files and manifest",
}
OTHER = "reading the archive's versions, templates, dedupe check"


class StepClock:
    """A progress reporter that charges the wall and CPU time since the last message to the
    step that message started (the time before the first one to OTHER)."""

    def __init__(self) -> None:
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.step = OTHER
        self.since = (time.perf_counter(), _cpu())

    def __call__(self, task: str, done: int, total: int | None = None) -> None:
        self.lap()
        self.step = next((name for start, name in STEPS.items() if task.startswith(start)), OTHER)

    def lap(self) -> None:
        now = (time.perf_counter(), _cpu())
        self.wall[self.step] += now[0] - self.since[0]
        self.cpu[self.step] += now[1] - self.since[1]
        self.since = now


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def archive_ingest(
    sources: dict[str, Path], root: Path, contracts: bool = False, clock: StepClock | None = None
) -> None:
    """The lakehouse: a full ingest of each source into a fresh local store (with the demo
    templates' raw contracts, when `contracts`), its steps timed by `clock` if given."""
    lake = Lakehouse(LakehouseConfig(project_dir=root, store={"root": str(root / "store")}))
    for name, path in sources.items():
        if contracts:
            text = demo_template_text(name, str(path))
            template = IngestTemplate.model_validate(yaml.safe_load(text))
        else:
            template = IngestTemplate(
                name=name, source={"type": "file", "path": str(path)}, format={"type": "csv"}
            )
        if clock is not None:
            clock.step = OTHER
        lake.archive.ingest(template, progress=clock or no_progress)
        if clock is not None:
            clock.lap()


def next_version(sources: dict[str, Path], folder: Path, months: int) -> dict[str, Path]:
    """The same sources `months` months later: the last `months`% of each file's rows gone."""
    folder.mkdir(exist_ok=True)
    changed = {}
    for name, path in sources.items():
        lines = path.read_bytes().splitlines(keepends=True)
        target = folder / path.name
        target.write_bytes(b"".join(lines[: len(lines) - months * len(lines) // 100]))
        changed[name] = target
    return changed


def monthly_ingest(versions: list[dict[str, Path]], root: Path) -> tuple[float, StepClock]:
    """Archive the first versions (with contracts), then time archiving the last: a new
    version of each source with its source QA against the one before (profile of the new data,
    drift, top values, key overlap, histograms, HTML report), as every month after the second;
    with the time of each of its steps."""
    for sources in versions[:-1]:
        archive_ingest(sources, root, contracts=True)
    clock = StepClock()
    start = time.perf_counter()
    archive_ingest(versions[-1], root, contracts=True, clock=clock)
    return time.perf_counter() - start, clock


def timed(action, *args: object) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("bench/out"))
    args = parser.parse_args()

    source_dir = args.work / f"pluto_lite_{args.lots}_{args.seed}"
    if not all((source_dir / f).exists() for f in SOURCE_FILES):
        print(f"generating {args.lots:,} lots into {source_dir} ...", flush=True)
        generate_pluto_lite(source_dir, lots=args.lots, seed=args.seed)
    sources = {f.removesuffix(".csv"): source_dir / f for f in SOURCE_FILES}
    total_mb = sum(p.stat().st_size for p in sources.values()) / 1e6
    print(f"sources: {total_mb:,.0f} MB of CSV in {len(sources)} files", flush=True)

    base = args.work / f"pluto_lite_{args.lots}_{args.seed}"
    versions = [sources] + [next_version(sources, Path(f"{base}_month{m}"), m) for m in (1, 2)]
    reference: list[float] = []
    ours: list[float] = []
    checked: list[float] = []
    second: list[float] = []
    clocks: list[StepClock] = []
    for round_number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(dir=args.work) as scratch:
            out = Path(scratch) / "copy"
            out.mkdir()
            reference.append(timed(duckdb_copy, sources, out))
        with tempfile.TemporaryDirectory(dir=args.work) as scratch:
            ours.append(timed(archive_ingest, sources, Path(scratch)))
        with tempfile.TemporaryDirectory(dir=args.work) as scratch:
            checked.append(timed(archive_ingest, sources, Path(scratch), True))
        with tempfile.TemporaryDirectory(dir=args.work) as scratch:
            seconds, clock = monthly_ingest(versions, Path(scratch))
            second.append(seconds)
            clocks.append(clock)
        print(
            f"round {round_number}: duckdb COPY {reference[-1]:.2f} s, "
            f"lake ingest {ours[-1]:.2f} s, with raw contracts {checked[-1]:.2f} s, "
            f"a new version with source QA {second[-1]:.2f} s",
            flush=True,
        )
    ref, mine = statistics.median(reference), statistics.median(ours)
    with_contracts = statistics.median(checked)
    with_qa = statistics.median(second)
    print()
    print("| what | median s | ratio |")
    print("|---|---|---|")
    print(f"| DuckDB `COPY (SELECT * FROM read_csv(...)) TO ... zstd` | {ref:.2f} | 1.00 |")
    print(
        f"| `lake ingest` (text columns, checksums, originals kept, manifest) | {mine:.2f} | "
        f"{mine / ref:.2f} |"
    )
    print(
        f"| the same with the demo templates' raw contracts | {with_contracts:.2f} | "
        f"{with_contracts / ref:.2f} |"
    )
    print(
        f"| a new version of each (1% fewer rows), with its source QA against the one before | "
        f"{with_qa:.2f} | {with_qa / ref:.2f} |"
    )
    print()
    print("| a new version of each source, by step | median wall s | median CPU s |")
    print("|---|---|---|")
    for step in dict.fromkeys([OTHER, *STEPS.values()]):
        if any(step in clock.wall for clock in clocks):
            wall = statistics.median(clock.wall.get(step, 0.0) for clock in clocks)
            cpu = statistics.median(clock.cpu.get(step, 0.0) for clock in clocks)
            print(f"| {step} | {wall:.2f} | {cpu:.2f} |")
    shutil.rmtree(args.work / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
