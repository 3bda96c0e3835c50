"""One observed run: START when it begins, then COMPLETE (with what it wrote), FAIL (with the
error) or ABORT (interrupted), all under one run id.

Describing a run (reading its record, tracing its columns) is lineage's own work: when it
fails, a `LineageWarning` says so and the event goes out with less in it; the run's result
or error is never changed by it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from lakehouse.openlineage.datasets import Dataset
from lakehouse.openlineage.emit import Emitter, LineageWarning
from lakehouse.openlineage.events import EventType, error_facet, new_run_id, now, run_event

T = TypeVar("T")
Described = tuple[list[Dataset], list[Dataset]]  # a run's inputs and outputs


def guarded(describe: Callable[[], T], default: T, what: str) -> T:
    """`describe()`, or `default` with a warning when it raises."""
    try:
        return describe()
    except Exception as exc:  # lineage is a side channel: the run goes on whatever happens
        warnings.warn(
            f"OpenLineage: {what} could not be described ({exc.__class__.__name__}: {exc}); "
            "its event is sent without it.",
            LineageWarning,
            stacklevel=3,
        )
        return default


@dataclass
class LineageRun:
    """The events of one run of one job, sent through `emitter`."""

    emitter: Emitter
    job: dict[str, Any]
    run_id: str = field(default_factory=new_run_id)
    inputs: list[Dataset] = field(default_factory=list)
    describe: Callable[[], Described] | None = None  # what COMPLETE says it read and wrote

    def start(self, inputs: Callable[[], list[Dataset]], at: datetime | None = None) -> None:
        self.inputs = guarded(inputs, [], f"the inputs of {self.job['name']}")
        self._send("START", at or now())

    def complete_with(self, describe: Callable[[], Described]) -> None:
        """Say how to describe the finished run (called once its work is done)."""
        self.describe = describe

    def complete(self, at: datetime | None = None) -> None:
        outputs: list[Dataset] = []
        if self.describe is not None:
            unknown: Described = (self.inputs, [])
            described = guarded(self.describe, unknown, f"the run of {self.job['name']}")
            self.inputs, outputs = described
        self._send("COMPLETE", at or now(), outputs)

    def fail(self, exc: BaseException, at: datetime | None = None) -> None:
        self._send("FAIL", at or now(), facets={"errorMessage": error_facet(exc)})

    def abort(self) -> None:
        self._send("ABORT", now())

    def _send(
        self,
        event_type: EventType,
        at: datetime,
        outputs: list[Dataset] | None = None,
        facets: dict[str, Any] | None = None,
    ) -> None:
        event = run_event(
            event_type,
            self.run_id,
            self.job,
            at=at,
            inputs=self.inputs,
            outputs=outputs,
            run_facets=facets,
        )
        self.emitter.emit(event)


@contextmanager
def lineage_run(
    emitter: Emitter, job: dict[str, Any], inputs: Callable[[], list[Dataset]] = list
) -> Iterator[LineageRun]:
    """START now (with `inputs()`), then COMPLETE when the body ends, FAIL (with the error's
    message) when it raises an error, ABORT when it is interrupted; the error goes on."""
    run = LineageRun(emitter, job)
    run.start(inputs)
    try:
        yield run
    except Exception as exc:
        run.fail(exc)
        raise
    except BaseException:
        run.abort()
        raise
    run.complete()
