"""Benchmark: `lake diff` of two PLUTO-lite outputs that differ in 1% of rows, vs a plain SQL
comparison (`EXCEPT` both ways) of the same files, side by side in the same run.

The old side is a 1M-lot build output (made by bench/build.py, or built here); the new side is
the same rows with 1% changed: 0.4% of lots changed in one column, 0.3% in two, 0.15% removed,
0.15% added. Both sides are timed alternately over several rounds (median); the diff's counts
are checked against what was changed.

    python bench/diff.py [--lots 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHANGED_ONE = "hash(bbl) % 1000 < 4"  # assesstot + 1
CHANGED_TWO = "hash(bbl) % 1000 BETWEEN 4 AND 6"  # assesstot + 1 and zonedist1 'X'
REMOVED = "hash(bbl) % 2000 BETWEEN 14 AND 16"
ADDED = 1_500  # lot 9999 (never generated) on as many existing blocks


def old_output(lots: int, seed: int) -> Path:
    from bench.build import prepare
    from lakehouse.config import load_config
    from lakehouse.project import Lakehouse

    project = REPO / "bench" / "out" / f"project_{lots}_{seed}"
    prepare(project, lots, seed)
    lake = Lakehouse(load_config(project / "lakehouse.toml"))
    result = lake.build("pluto_lite")
    return Path(lake.store.root) / result.folder / "outputs" / "pluto_lite.parquet"


def make_new(con: object, old: Path, new: Path) -> dict[str, int]:
    source = f"read_parquet('{old}')"
    con.execute(  # type: ignore[attr-defined]
        f"""COPY (
            SELECT * REPLACE (
                CASE WHEN {CHANGED_ONE} OR {CHANGED_TWO} THEN assesstot + 1 ELSE assesstot END
                    AS assesstot,
                CASE WHEN {CHANGED_TWO} THEN 'X' ELSE zonedist1 END AS zonedist1)
            FROM {source} WHERE NOT ({REMOVED})
            UNION ALL
            SELECT * REPLACE (bbl - bbl % 10000 + 9999 AS bbl, 9999 AS lot)
            FROM (SELECT * FROM {source}
                  QUALIFY row_number() OVER (PARTITION BY bbl // 10000 ORDER BY bbl) = 1
                  ORDER BY bbl LIMIT {ADDED})
            ORDER BY bbl
        ) TO '{new}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    counts = con.execute(  # type: ignore[attr-defined]
        # a NULL assesstot stays NULL: only zonedist1 then makes the row differ
        f"SELECT count(*) FILTER (WHERE ({CHANGED_ONE} AND assesstot IS NOT NULL) "
        f"OR {CHANGED_TWO}), count(*) FILTER (WHERE {CHANGED_TWO}), "
        f"count(*) FILTER (WHERE {REMOVED}), "
        f"count(*) FILTER (WHERE (({CHANGED_ONE} AND assesstot IS NOT NULL) OR {CHANGED_TWO}) "
        f"AND {REMOVED}), "
        f"count(*) FILTER (WHERE {CHANGED_TWO} AND {REMOVED}), count(*) FROM {source}"
    ).fetchone()
    changed, two, removed, changed_removed, two_removed, rows = counts
    return {
        "rows": rows,
        "changed": changed - changed_removed,
        "zonedist1": two - two_removed,
        "removed": removed,
        "added": ADDED,
    }


def plain_sql(con: object, old: Path, new: Path) -> int:
    """What one would write by hand: rows of each side missing from the other."""
    a, b = f"read_parquet('{old}')", f"read_parquet('{new}')"
    return int(
        con.execute(  # type: ignore[attr-defined]
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})) + "
            f"(SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
        ).fetchone()[0]
    )


def main() -> None:
    import duckdb

    from lakehouse.qa.diff import diff_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    old = old_output(args.lots, args.seed)
    new = REPO / "bench" / "out" / f"pluto_lite_{args.lots}_changed.parquet"
    con = duckdb.connect()
    expected = make_new(con, old, new)
    ours, reference = [], []
    for number in range(1, args.rounds + 1):
        start = time.perf_counter()
        differing = plain_sql(duckdb.connect(), old, new)
        reference.append(time.perf_counter() - start)
        start = time.perf_counter()
        found = diff_table(duckdb.connect(), "pluto_lite", ["bbl"], str(old), str(new))
        ours.append(time.perf_counter() - start)
        print(f"round {number}: EXCEPT both ways {reference[-1]:.2f} s, lake diff {ours[-1]:.2f} s")
    got = (found.changed, found.columns["zonedist1"], found.removed, found.added)
    want = (expected["changed"], expected["zonedist1"], expected["removed"], expected["added"])
    assert got == want, (got, want)
    assert differing == 2 * found.changed + found.removed + found.added
    ref, mine = statistics.median(reference), statistics.median(ours)
    share = (found.changed + found.removed + found.added) / expected["rows"]
    print()
    print(f"| {expected['rows']:,} lots, {share:.1%} differing | median s | ratio |")
    print("|---|---|---|")
    print(f"| plain SQL: `EXCEPT ALL` both ways (counts only) | {ref:.2f} | 1.00 |")
    print(f"| `lake diff` (by key: added/removed/changed, per column, samples, shifts) | "
          f"{mine:.2f} | {mine / ref:.2f} |")  # fmt: skip
    print(f"\nlake diff under 5 s: {'yes' if mine < 5 else 'NO'}")


if __name__ == "__main__":
    main()
