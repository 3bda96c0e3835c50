"""A Spark standalone cluster on 127.0.0.1, for the cluster tests and bench/spark_cluster.py: a
master and workers started from pyspark's own jars (`spark-class ...deploy.master.Master` and
`...deploy.worker.Worker`), every port and web UI bound to loopback (SPARK_LOCAL_IP), each
worker with its own work directory (its executors' logs and local files), all stopped when the
context ends, whatever happened."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
HOST = "127.0.0.1"
START_SECONDS = 90.0  # a JVM's start on a busy 2-core machine
MASTER_URL = re.compile(r"Starting Spark master at (spark://127\.0\.0\.1:\d+)")
REGISTERED = "Successfully registered with master"


@dataclass
class LocalCluster:
    """A running cluster: its master's URL, its folder, each worker's work directory."""

    master_url: str
    folder: Path
    workers: list[Path] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def conf_dir(self, settings: dict[str, str]) -> Path:
        """A SPARK_CONF_DIR for a driver of this cluster: spark-defaults.conf with `settings`."""
        folder = self.folder / "driver-conf"
        folder.mkdir(exist_ok=True)
        lines = [f"{key} {value}\n" for key, value in settings.items()]
        (folder / "spark-defaults.conf").write_text("".join(lines))
        return folder

    def executor_logs(self) -> dict[str, str]:
        """Each executor's stderr (`<worker dir>/<app>/<executor id>/stderr`) by its path."""
        return {
            str(path): path.read_text(errors="replace")
            for worker in self.workers
            for path in sorted(worker.glob("app-*/*/stderr"))
        }


def cluster_env(folder: Path) -> dict[str, str]:
    """The environment of the cluster's processes: loopback only, Spark's own logs here."""
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOG_DIR": str(folder / "logs"),
        "SPARK_CONF_DIR": str(folder / "cluster-conf"),  # empty: Spark's defaults
    }


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(SPARK_HOME / "bin" / "spark-class"), *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopped with what it started
        )


def _wait_for(log: Path, process: subprocess.Popen[bytes], found: re.Pattern[str] | str) -> str:
    """The first match of `found` in a process's log, waiting for the process to write it."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        match = found.search(text) if isinstance(found, re.Pattern) else None
        if match:
            return match.group(1)
        if isinstance(found, str) and found in text:
            return found
        if process.poll() is not None:
            raise RuntimeError(f"{log.name}: the process ended ({process.returncode}):\n{text}")
        time.sleep(0.2)
    raise RuntimeError(f"{log.name} did not say {found!r} in {START_SECONDS:.0f} s")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop each process started here and its children (its own process group), by its id."""
    for process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@contextmanager
def local_cluster(
    folder: Path, workers: int = 2, cores: int = 1, memory: str = "1g"
) -> Iterator[LocalCluster]:
    """Start a master and `workers` workers (each `cores` cores and `memory`) in `folder`;
    stop them all on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cluster-conf").mkdir(exist_ok=True)
    env = cluster_env(folder)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        log = folder / "master.log"
        master = _start(
            ["org.apache.spark.deploy.master.Master", "-h", HOST, "-p", "0", "--webui-port", "0"],
            log,
            env,
        )
        processes.append(master)
        cluster = LocalCluster(_wait_for(log, master, MASTER_URL), folder, processes=processes)
        started = []
        for number in range(1, workers + 1):
            work = folder / f"worker-{number}"
            (work / "local").mkdir(parents=True, exist_ok=True)
            worker_env = {**env, "SPARK_LOCAL_DIRS": str(work / "local")}  # shuffle files
            log = folder / f"worker-{number}.log"
            worker = _start(
                ["org.apache.spark.deploy.worker.Worker", cluster.master_url, "-h", HOST,
                 "-p", "0", "--webui-port", "0", "-c", str(cores), "-m", memory,
                 "-d", str(work)],
                log,
                worker_env,
            )  # fmt: skip
            processes.append(worker)
            cluster.workers.append(work)
            started.append((log, worker))
        for log, worker in started:
            _wait_for(log, worker, REGISTERED)
        yield cluster
    finally:
        _stop(processes)
