"""`lake gc`: free the builds and cache entries nothing needs any more (a dry run unless
`--apply`); see lakehouse/catalog/gc.py for what stays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lakehouse.cli.shell import _console, _open, _run, app

if TYPE_CHECKING:
    from lakehouse.catalog.gc import Freed, GcItem


@app.command(name="gc")
def gc_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="Remove what the dry run lists (default: list only).")
    ] = False,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            min=0,
            help="How many of each product's latest builds stay whatever else "
            "(default: `[gc] keep_builds` in lakehouse.toml, 5 unless set).",
        ),
    ] = None,
) -> None:
    """List (or, with --apply, remove) the builds and cache entries that no lock, published
    version, pinned build or recent build needs, and what interrupted runs left; never an
    archived or published version, nor anything a live run is writing."""
    from rich.markup import escape

    from lakehouse.catalog.gc import apply_gc, plan_gc

    lake = _open()
    plan = _run(lambda: plan_gc(lake.config, lake.store, lake.archive, keep=keep))
    console = _console()
    for note in plan.notes:
        console.print(f"[yellow]note[/yellow] {escape(note)}")
    if not plan.items:
        console.print("Nothing to free.")
        return
    if not apply:
        for item in plan.items:
            console.print(f"would remove {_line(item)}")
        _print_freed(plan.freed(), "would free")
        console.print("Dry run: nothing was removed; `lake gc --apply` removes it.")
        return
    result = _run(lambda: apply_gc(plan, lake.store))
    for item in result.removed:
        console.print(f"[green]removed[/green] {_line(item)}")
    for skipped in result.skipped:
        console.print(f"[yellow]left[/yellow] {escape(skipped)}")
    _print_freed(result.freed(), "freed")


def _line(item: GcItem) -> str:
    from rich.markup import escape

    return escape(f"{item.path} ({human_bytes(item.bytes)}): {item.reason}")


def _print_freed(freed: dict[str, Freed], verb: str) -> None:
    console = _console()
    total = 0
    for product, found in freed.items():
        parts = [
            _counted(count, noun)
            for count, noun in (
                (found.builds, "build"),
                (found.cache_entries, "cache entry"),
                (found.leftovers, "leftover"),
            )
            if count
        ]
        console.print(f"{product}: {', '.join(parts)}, {human_bytes(found.bytes)}")
        total += found.bytes
    count = sum(f.builds + f.cache_entries + f.leftovers for f in freed.values())
    console.print(f"{verb} {human_bytes(total)} in {_counted(count, 'item')}")


def _counted(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def human_bytes(size: int) -> str:
    """`512 B`, `1.5 KiB`, `3.2 MiB`..."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
