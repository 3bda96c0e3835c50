"""The Spark engine: the same ibis transforms on ibis's PySpark backend (`lake build --engine
spark`), writing the same build layout, in `local[2]` or on a cluster.

LAKEHOUSE_SPARK_MASTER picks the master (default `local[2]`, bound to 127.0.0.1); anything
else (`spark://host:7077`, `yarn`, `k8s://...`) is a cluster, configured as any Spark
application is (spark-defaults.conf in SPARK_CONF_DIR; SPARK_LOCAL_IP, when set, is the
driver's address). Spark's workers read the inputs and write the results in the store
themselves: a local store must be on a path every worker sees at the same place (a shared
filesystem such as NFS or EFS); an S3 store is read and written as `s3a://`, with the
`spark.hadoop.fs.s3a.*` settings made from the store's settings (`s3a_settings`), which needs
the hadoop-aws jar: a cluster without it is refused; in local mode without it, the inputs are
copied to the build's scratch folder and the results uploaded from there.

Each table model is written by Spark as several Parquet part files in the model's order (its
ORDER BY is a range partitioning and a sort within each part: parts are in order by name),
straight into the cache folder the builder gives (`write_parts`); the builder then hashes the
parts where they lie, DuckDB taking their content hash in order, so a Spark build and a DuckDB
build of the same lock can be compared.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from lakehouse.config import S3Settings
from lakehouse.errors import BuildError
from lakehouse.transform.engines import EngineContext, EngineType
from lakehouse.transform.engines.duckdb import uses_geometry

MASTER_ENV_VAR = "LAKEHOUSE_SPARK_MASTER"
LOCAL_MASTER = "local[2]"
SPARK_CODECS = {"zstd": "zstd", "lz4_raw": "lz4"}
S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"  # in the hadoop-aws jar
NO_HADOOP_AWS = (
    "An S3 store on a Spark cluster needs the hadoop-aws jar (org.apache.hadoop:hadoop-aws, of "
    "the cluster's Hadoop version, with its AWS SDK bundle) on the driver's and the executors' "
    "classpath, and this Spark has none: add it (spark.jars; managed Spark services ship it), "
    f"or build with {MASTER_ENV_VAR}={LOCAL_MASTER}."
)
QUIET_LOG = (
    "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
    "appender.console.type = Console\nappender.console.name = console\n"
    "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
    "appender.console.layout.pattern = %p %c: %m%n\n"
)


def is_local_master(master: str) -> bool:
    """Whether a master URL runs everything in the driver's JVM (`local`, `local[N]`,
    `local[*]`, `local[N,F]`), rather than on a cluster's executors."""
    return master == "local" or master.startswith("local[")


def s3a_settings(s3: S3Settings) -> dict[str, str]:
    """The `spark.hadoop.fs.s3a.*` settings that let Spark's workers reach the store's S3 as
    the lakehouse does (`s3`: the store's resolved settings, lakehouse.toml's [store.s3], else
    the AWS environment variables): an endpoint (an S3-compatible server: buckets named in the
    path, plain HTTP when the endpoint says so), the region, and the credentials when given
    (with AWS_SESSION_TOKEN, temporary ones); without credentials, hadoop-aws's own chain
    (environment, instance profile) is left to find them."""
    prefix = "spark.hadoop.fs.s3a."
    found: dict[str, str] = {}
    if s3.endpoint_url:
        found[prefix + "endpoint"] = s3.endpoint_url
        found[prefix + "path.style.access"] = "true"
    if s3.allow_http:
        found[prefix + "connection.ssl.enabled"] = "false"
    if s3.region:
        found[prefix + "endpoint.region"] = s3.region
    if s3.access_key_id and s3.secret_access_key:
        found[prefix + "access.key"] = s3.access_key_id
        found[prefix + "secret.key"] = s3.secret_access_key
        token = os.environ.get("AWS_SESSION_TOKEN")
        if token:
            found[prefix + "session.token"] = token
            provider = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        else:
            provider = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        found[prefix + "aws.credentials.provider"] = provider
    return found


def session_settings(master: str, s3: S3Settings | None, scratch: Path) -> dict[str, str]:
    """The settings a build's session starts with. The ones results depend on always (UTC, how
    timestamps are written, no ANSI errors); in local mode, a session bound to 127.0.0.1, with
    no UI and four shuffle partitions; on a cluster only the driver's address (SPARK_LOCAL_IP,
    when set), the rest being the cluster's (spark-defaults.conf); for an S3 store, its
    `s3a_settings`."""
    settings = {
        "spark.sql.warehouse.dir": str(scratch / "spark-warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.ansi.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",
    }
    address = os.environ.get("SPARK_LOCAL_IP")
    if is_local_master(master):
        quiet = scratch / "log4j2.properties"  # errors only, from the JVM's first line
        quiet.write_text(QUIET_LOG)
        address = "127.0.0.1"
        settings |= {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={quiet}",
        }
    if address:
        settings |= {"spark.driver.bindAddress": address, "spark.driver.host": address}
    if s3 is not None:
        settings |= s3a_settings(s3)
    return settings


class SparkEngine:
    """A Spark session for one build (local, or on LAKEHOUSE_SPARK_MASTER's cluster, whose
    executors it releases when closed); `lake sql` reads the DuckDB database the builder writes
    after it (`provides_database` is False)."""

    name = "spark"

    def __init__(self, context: EngineContext) -> None:
        context.progress("starting Spark", 0, None)
        self.store, self.scratch = context.store, context.scratch
        self.master = os.environ.get(MASTER_ENV_VAR, LOCAL_MASTER)
        self.on_cluster = not is_local_master(self.master)
        if not self.on_cluster:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            import ibis
        except ImportError as exc:  # pragma: no cover - pyspark is in requirements.lock
            raise BuildError(
                "The Spark engine needs pyspark (pip install pyspark==4.0.5) and Java 17."
            ) from exc
        s3 = None if self.store.is_local else self.store.s3
        settings = session_settings(self.master, s3, self.scratch)
        # the workers read and write the store themselves, unless it is S3 without hadoop-aws
        self.direct = self.store.is_local or _driver_has_class(settings, S3A_CLASS)
        if self.on_cluster and not self.direct:
            raise BuildError(NO_HADOOP_AWS)
        self.session, self.started_here = _session(self.master, settings)
        # PySpark logs each failed query as JSON; the build reports the error itself
        logging.getLogger("pyspark").setLevel(logging.CRITICAL)
        self.con = ibis.pyspark.connect(self.session)

    # -- where Spark reads and writes --------------------------------------------------------------

    def _in_store(self, url: str) -> str | None:
        """The path of a URL of the store relative to its root (None: a file of the driver's)."""
        prefix = self.store.root + "/"
        return url.removeprefix(prefix) if url.startswith(prefix) else None

    def _spark_path(self, rel: str) -> str:
        """What Spark's workers read or write for a path of the store (the store's own, never
        the default filesystem's: on a Hadoop cluster that is HDFS)."""
        if self.store.is_local:
            return self.store.local_path(rel).as_uri()
        return "s3a://" + self.store.path(rel)

    def _readable(self, url: str) -> str:
        """A path Spark can read for an input: in the store where it lies (an S3 store without
        hadoop-aws, in local mode: a copy in scratch); a driver's file as it is."""
        rel = self._in_store(url)
        if rel is None:
            return Path(url).as_uri()
        if self.direct:
            return self._spark_path(rel)
        target = self.scratch / "spark-inputs" / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            self.store.fs.get_file(self.store.path(rel), str(target))
        return target.as_uri()

    def parquet_table(self, name: str, urls: list[str], schema: dict[str, Any] | None) -> Any:
        self._refuse_geometry_input(name, urls[0])
        if self.on_cluster and any(self._in_store(url) is None for url in urls):
            frame = self._from_driver(urls)  # (a seed converted in the driver's scratch)
        else:
            frame = self.session.read.parquet(*[self._readable(url) for url in urls])
        frame.createOrReplaceTempView(name)
        return self.con.table(name)

    def _from_driver(self, paths: list[str]) -> Any:
        """A small table of the driver's files (a seed), sent to the executors with the query:
        they cannot see the driver's disk."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        return self.session.createDataFrame(pa.concat_tables([pq.read_table(p) for p in paths]))

    def view(self, name: str, expression: Any) -> Any:
        """Spark plans the whole query anyway: later models read the expression itself."""
        _refuse_geometry(name, expression)
        return expression

    def _typed(self, expression: Any) -> Any:
        """The expression as a Spark frame, each column cast to its ibis type."""
        from ibis.backends.pyspark.datatypes import PySparkType
        from pyspark.sql import functions as F

        frame = self.session.sql(self.con.compile(expression))
        return frame.select(
            *[F.col(f"`{name}`").cast(PySparkType.from_ibis(dtype)).alias(name)
              for name, dtype in expression.schema().items()]
        )  # fmt: skip

    def write_parts(
        self, expression: Any, folder: str, codec: str, crs: dict[str, str] | None = None
    ) -> list[str]:
        """Run the expression with Spark into ordered Parquet parts in `folder` of the store,
        written there by the workers (or, for an S3 store in local mode without hadoop-aws,
        written to scratch and uploaded); the parts' paths, in order."""
        _refuse_geometry(folder.split("/")[-2], expression)  # cache/<product>/<model>/<folder>
        writer = self._typed(expression).write.option("compression", SPARK_CODECS.get(codec, codec))
        if self.direct:
            writer.parquet(self._spark_path(folder))  # (a new folder: never written over)
            return self._parts_in(folder)
        local = self.scratch / "spark-out" / uuid.uuid4().hex
        writer.parquet(local.as_uri())
        parts = sorted(path.name for path in local.glob("part-*.parquet"))
        for name in parts:
            self.store.put_file(local / name, f"{folder}/{name}", move=True)
        shutil.rmtree(local, ignore_errors=True)
        return [f"{folder}/{name}" for name in parts]

    def _parts_in(self, folder: str) -> list[str]:
        """The part files Spark wrote in `folder`, in order (Spark names them by partition:
        `part-00000-...`), once what else it left there is removed (its `_SUCCESS` marker,
        the checksum files of a local filesystem)."""
        parts = []
        for path in self.store.list_files(folder):
            name = path.removeprefix(folder + "/")
            if name.startswith("part-") and name.endswith(".parquet") and "/" not in name:
                parts.append(path)
            else:
                self.store.fs.rm(self.store.path(path))
        return sorted(parts)

    def close(self) -> None:
        """On a cluster, stop the application this build started (its executors go back to
        the cluster); a local session is kept for the next build of this process."""
        if self.on_cluster and self.started_here:
            self.session.stop()
        else:
            self.session.catalog.clearCache()

    # -- what Spark cannot run --------------------------------------------------------------------

    def _refuse_geometry_input(self, name: str, url: str) -> None:
        """A GeoParquet input (its `geo` metadata) would reach Spark as plain bytes: refuse it."""
        import pyarrow.parquet as pq

        rel = self._in_store(url)
        if rel is None:
            metadata = pq.read_schema(url).metadata or {}
        else:
            metadata = self.store.parquet_metadata(rel).metadata or {}
        if b"geo" in metadata:
            raise BuildError(
                f"Input {name!r} has geometry, which the Spark engine cannot read (Spark has "
                "no geometry type without Apache Sedona); build this product with "
                "--engine duckdb."
            )


ENGINE = EngineType(name="spark", open=SparkEngine, packages=("pyspark",), writes_parts=True)


def _driver_has_class(settings: dict[str, str], name: str) -> bool:
    """Whether the driver's JVM (started with `settings` if it is not running yet, with the
    jars they and spark-defaults.conf name) can load a class: a jar on its classpath."""
    from py4j.protocol import Py4JJavaError
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized(
        conf=SparkConf(loadDefaults=False).setAll(list(settings.items()))
    )
    jvm = SparkContext._jvm
    assert jvm is not None
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(name, False, loader)
    except Py4JJavaError:
        return False
    return True


_started: list[Any] = []  # the SparkContext this module started last (while it runs)


def _session(master: str, settings: dict[str, str]) -> tuple[Any, bool]:
    """A session on `master` with `settings`, and whether it was started here: this process's
    session when it is on that master (a local session is reused from build to build), else a
    new one. A session of another master that a build started is stopped first; one started
    by someone else (a notebook's) is left alone, and the build refused."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    running = SparkContext._active_spark_context
    if running is not None and running.master != master:
        if not any(running is started for started in _started):
            raise BuildError(
                f"This process already runs a Spark session on {running.master}, not on "
                f"{master}; set {MASTER_ENV_VAR}={running.master} to build on it, or stop it."
            )
        running.stop()
        running = None
    builder = SparkSession.builder.master(master).appName("lakehouse")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    if running is None:
        _started[:] = [session.sparkContext]
    session.sparkContext.setLogLevel("ERROR")
    return session, any(session.sparkContext is started for started in _started)


def _refuse_geometry(name: str, expression: Any) -> None:
    """Spark has no geometry type here (no Sedona on these machines): say so before it fails."""
    if uses_geometry(expression):
        raise BuildError(
            f"Model {name!r} computes or returns geometry, which the Spark engine cannot run "
            "(Spark has no geometry type without Apache Sedona); build this product with "
            "--engine duckdb."
        )
