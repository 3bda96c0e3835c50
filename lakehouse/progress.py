"""Progress reporting that library code can call without knowing who is watching."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called as work advances: what is happening, how much is done, out of how much (if known)."""

    def __call__(self, task: str, done: int, total: int | None = None) -> None: ...


def no_progress(task: str, done: int, total: int | None = None) -> None:
    """The default reporter: stay silent."""
