"""Benchmark: `lake build pluto_lite` on DuckDB vs on a Spark standalone cluster of this machine.

The cluster is the tests' (tests/transform/engines/cluster.py): a master and two workers on
127.0.0.1 started from pyspark's own jars, each worker with one core and its own work
directory; the store is a folder of this machine, which every worker sees. For each size:
generate the sources and archive them (as bench/build.py does; reused when present), then
time, alternating over the rounds, `lake build pluto_lite --full-refresh` (every model
recomputed, its contracts checked) in a fresh process on DuckDB and with `--engine spark` on
the cluster. Checks both outputs have the same content hash and prints a Markdown table of
medians: the command's wall time and the build's own ("build s", build.json: from its start to its
commit, so Spark's session start is in it, Python's start is not).

For information: on one machine DuckDB is expected to win; Spark pays for its JVMs, its
shuffle to range-partition the sorted output and its tasks' start.

    python bench/spark_cluster.py --lots 1000000 [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from build import prepare  # noqa: E402 - bench/build.py's project (sources archived, locked)

from tests.transform.engines.cluster import LocalCluster, local_cluster  # noqa: E402

LAKE = Path(sys.executable).parent / "lake"


def lake_build(project: Path, env: dict[str, str], *args: str) -> dict[str, object]:
    """`lake build pluto_lite --full-refresh <args>` in a fresh process: its wall seconds, the
    build's own seconds and its output's content hash and parts."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(LAKE), "build", "pluto_lite", "--full-refresh", *args],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"lake build {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    builds = sorted((project / ".lakehouse" / "builds" / "pluto_lite").glob("*/build.json"))
    record = json.loads(max(builds, key=lambda path: path.stat().st_mtime).read_text())
    output = record["outputs"]["outputs/pluto_lite"]
    own = datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(
        record["started_at"]
    )
    return {
        "wall": wall,
        "build": own.total_seconds(),
        "contracts": float(record["contracts"]["seconds"]),
        "content_sha256": output["content_sha256"],
        "parts": len(output.get("parts") or [output]),
        "engine": record["engine"],
    }


def cluster_env(cluster: LocalCluster, executor_memory: str) -> dict[str, str]:
    settings = {"spark.ui.enabled": "false", "spark.executor.memory": executor_memory}
    return {
        **os.environ,
        "LAKEHOUSE_SPARK_MASTER": cluster.master_url,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_CONF_DIR": str(cluster.conf_dir(settings)),
    }


def bench_size(lots: int, args: argparse.Namespace) -> list[str]:
    project = args.work.resolve() / f"project_{lots}_{args.seed}"
    prepare(project, lots, args.seed)
    duck_runs, spark_runs = [], []
    folder = args.work.resolve() / f"cluster_{lots}"
    shutil.rmtree(folder, ignore_errors=True)  # the last run's logs and work directories
    with local_cluster(folder, workers=2, cores=1, memory=args.worker_memory) as cluster:
        env = cluster_env(cluster, args.executor_memory)
        for number in range(1, args.rounds + 1):
            duck_runs.append(lake_build(project, dict(os.environ)))
            spark_runs.append(lake_build(project, env, "--engine", "spark"))
            print(
                f"{lots:,} lots, round {number}: DuckDB {duck_runs[-1]['wall']:.1f} s, "
                f"Spark cluster {spark_runs[-1]['wall']:.1f} s "
                f"({spark_runs[-1]['parts']} parts)",
                flush=True,
            )
    same = {run["content_sha256"] for run in duck_runs + spark_runs}
    lines = []
    duck_wall = statistics.median(float(r["wall"]) for r in duck_runs)
    for label, runs in (("DuckDB (in-process)", duck_runs),
                        ("Spark, 2 workers x 1 core, local cluster", spark_runs)):  # fmt: skip
        wall = statistics.median(float(r["wall"]) for r in runs)
        own = statistics.median(float(r["build"]) for r in runs)
        contracts = statistics.median(float(r["contracts"]) for r in runs)
        lines.append(
            f"| {lots:,} | {label} | {wall:.1f} | {wall / duck_wall:.1f} | {own:.1f} | "
            f"{contracts:.1f} | {runs[-1]['parts']} | "
            f"{'same content hash' if len(same) == 1 else 'DIFFERENT'} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "spark_cluster")
    parser.add_argument("--worker-memory", default="2g")
    parser.add_argument("--executor-memory", default="1536m")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    lines = []
    for lots in args.lots:
        lines.extend(bench_size(lots, args))
    print()
    print("| lots | engine | wall s | ratio | build s | contracts s | files | output |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
