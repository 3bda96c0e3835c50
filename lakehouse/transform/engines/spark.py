"""The Spark engine: the same ibis transforms on ibis's PySpark backend (`lake build --engine
spark`), writing the same build layout.

A local session (`local[2]` unless LAKEHOUSE_SPARK_MASTER says otherwise) bound to 127.0.0.1.
Spark reads the archived Parquet where it lies on a local store; an S3 store's files are first
copied to the build's scratch folder, because reading s3:// from Spark needs the hadoop-aws
jars (see docs/spark.md for a cluster). Each table model is written by Spark as one Parquet
file (ordered as the model orders it), typed as its ibis schema says; the content hash is then
taken by DuckDB, so a Spark build and a DuckDB build of the same lock can be compared.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from lakehouse.errors import BuildError
from lakehouse.transform.engines import EngineContext, EngineType
from lakehouse.transform.engines.duckdb import uses_geometry

MASTER_ENV_VAR = "LAKEHOUSE_SPARK_MASTER"
SPARK_CODECS = {"zstd": "zstd", "lz4_raw": "lz4"}


class SparkEngine:
    """A local Spark session (or LAKEHOUSE_SPARK_MASTER's) for one build; `lake sql` reads the
    DuckDB database the builder writes after it (`provides_database` is False)."""

    name = "spark"

    def __init__(self, context: EngineContext) -> None:
        context.progress("starting Spark", 0, None)
        store, scratch = context.store, context.scratch
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            import ibis
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - pyspark is in requirements.lock
            raise BuildError(
                "The Spark engine needs pyspark (pip install pyspark==4.0.5) and Java 17."
            ) from exc
        self.store = store
        self.scratch = scratch
        quiet = scratch / "log4j2.properties"  # errors only, from the JVM's first line
        quiet.write_text("rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
                         "appender.console.type = Console\nappender.console.name = console\n"
                         "appender.console.target = SYSTEM_ERR\n"
                         "appender.console.layout.type = PatternLayout\n"
                         "appender.console.layout.pattern = %p %c: %m%n\n")  # fmt: skip
        self.session = (
            SparkSession.builder.master(os.environ.get(MASTER_ENV_VAR, "local[2]"))
            .appName("lakehouse")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={quiet}")
            .config("spark.sql.warehouse.dir", str(scratch / "spark-warehouse"))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.log.level", "ERROR")
            .getOrCreate()
        )
        self.session.sparkContext.setLogLevel("ERROR")
        # PySpark logs each failed query as JSON; the build reports the error itself
        logging.getLogger("pyspark").setLevel(logging.CRITICAL)
        self.con = ibis.pyspark.connect(self.session)

    def _local(self, url: str) -> str:
        """A path Spark can read: the file itself on a local store, else a copy in scratch."""
        if self.store.is_local:
            return url
        rel = url.removeprefix(self.store.root + "/")
        target = self.scratch / "spark-inputs" / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            self.store.fs.get_file(self.store.path(rel), str(target))
        return str(target)

    def parquet_table(self, name: str, urls: list[str], schema: dict[str, Any] | None) -> Any:
        paths = [self._local(url) for url in urls]
        _refuse_geometry_input(name, paths[:1])
        frame = self.session.read.parquet(*paths)
        frame.createOrReplaceTempView(name)
        return self.con.table(name)

    def view(self, name: str, expression: Any) -> Any:
        """Spark plans the whole query anyway: later models read the expression itself."""
        _refuse_geometry(name, expression)
        return expression

    def write_parquet(
        self, expression: Any, local_path: Path, codec: str, crs: dict[str, str] | None = None
    ) -> int:
        """Run the expression with Spark into one Parquet file typed as its ibis schema."""
        _refuse_geometry(local_path.stem, expression)
        import pyarrow.parquet as pq
        from ibis.backends.pyspark.datatypes import PySparkType
        from pyspark.sql import functions as F

        frame = self.session.sql(self.con.compile(expression))
        typed = frame.select(
            *[F.col(f"`{name}`").cast(PySparkType.from_ibis(dtype)).alias(name)
              for name, dtype in expression.schema().items()]
        )  # fmt: skip
        folder = local_path.with_suffix(".spark")
        shutil.rmtree(folder, ignore_errors=True)
        (
            typed.coalesce(1)  # one file, in the model's order (coalesce does not shuffle)
            .write.option("compression", SPARK_CODECS.get(codec, codec))
            .mode("overwrite")
            .parquet(str(folder))
        )
        (part,) = sorted(folder.glob("part-*.parquet"))
        part.replace(local_path)
        shutil.rmtree(folder, ignore_errors=True)
        return int(pq.ParquetFile(local_path).metadata.num_rows)

    def close(self) -> None:
        self.session.catalog.clearCache()


ENGINE = EngineType(name="spark", open=SparkEngine, packages=("pyspark",))


def _refuse_geometry_input(name: str, paths: list[str]) -> None:
    """A GeoParquet input (its `geo` metadata) would reach Spark as plain bytes: refuse it."""
    import pyarrow.parquet as pq

    for path in paths:
        metadata = pq.read_schema(path).metadata or {}
        if b"geo" in metadata:
            raise BuildError(
                f"Input {name!r} has geometry, which the Spark engine cannot read (Spark has "
                "no geometry type without Apache Sedona); build this product with "
                "--engine duckdb."
            )


def _refuse_geometry(name: str, expression: Any) -> None:
    """Spark has no geometry type here (no Sedona on these machines): say so before it fails."""
    if uses_geometry(expression):
        raise BuildError(
            f"Model {name!r} computes or returns geometry, which the Spark engine cannot run "
            "(Spark has no geometry type without Apache Sedona); build this product with "
            "--engine duckdb."
        )
