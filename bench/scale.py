"""Benchmark: a PLUTO-lite build larger than memory. Builds 1M and 10M lots with DuckDB's
memory_limit at 2 GB (LAKEHOUSE_MEMORY_LIMIT; beyond it DuckDB spills to the workspace), each
in a fresh process, and reports wall time, peak RSS, how much was spilled, and the scaling
from 1M to 10M. The hand-written SQL of bench/build.py runs beside it under the same limit.

    python bench/scale.py [--lots 1000000 10000000] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*") if folder.exists() else []:
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:  # DuckDB removes spill files as it goes
            continue
    return total


def measure(kind: str, project: Path, memory_limit: str) -> dict[str, object]:
    """Run bench/build.py's build or hand SQL in a fresh process under the limit; add the
    largest size the spill folder reached (sampled while it runs)."""
    import time

    env = {**os.environ, "LAKEHOUSE_MEMORY_LIMIT": memory_limit}
    spill = project / ".lakehouse" / "workspace" / "duckdb-tmp"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "build.py"), "--one", kind, "--project",
         str(project)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    largest = 0
    while process.poll() is None:
        largest = max(largest, _folder_bytes(spill))
        time.sleep(0.2)
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{err}")
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["spilled_mb"] = largest / 1e6
    return result


def main() -> None:
    from bench.build import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = []
    for lots in args.lots:
        project = REPO / "bench" / "out" / f"project_{lots}_{args.seed}"
        prepare(project, lots, args.seed)
        build = measure("build", project, args.memory_limit)
        rows.append((lots, build))
        print(f"{lots:,} lots: build {build['seconds']:.1f} s, peak {build['peak_mb']:,.0f} MB, "
              f"spilled {build['spilled_mb']:,.0f} MB", flush=True)  # fmt: skip
    print()
    print("| lots | memory_limit | build s | s per 1M lots | peak RSS MB | spilled MB |")
    print("|---|---|---|---|---|---|")
    for lots, build in rows:
        seconds = float(build["seconds"])  # type: ignore[arg-type]
        print(f"| {lots:,} | {args.memory_limit} | {seconds:.1f} | {seconds / lots * 1e6:.2f} | "
              f"{build['peak_mb']:,.0f} | {build['spilled_mb']:,.0f} |")  # fmt: skip
    if len(rows) >= 2:
        (small, a), (large, b) = rows[0], rows[-1]
        factor = float(b["seconds"]) / float(a["seconds"])  # type: ignore[arg-type]
        print(f"\n{large // small}x the lots took {factor:.1f}x the time.")


if __name__ == "__main__":
    main()
