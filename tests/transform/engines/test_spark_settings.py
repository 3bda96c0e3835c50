"""The settings a Spark build starts its session with, without starting one: local mode bound to
127.0.0.1; on a cluster, the cluster's own but for the driver's address; for an S3 store, the
`s3a` settings made from the store's (lakehouse.toml, else the AWS environment variables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.config import S3Settings
from lakehouse.transform.engines.spark import (
    NO_HADOOP_AWS,
    is_local_master,
    s3a_settings,
    session_settings,
)

S3A = "spark.hadoop.fs.s3a."


def test_local_masters_are_told_from_clusters() -> None:
    assert all(map(is_local_master, ["local", "local[2]", "local[*]", "local[4,2]"]))
    assert not any(map(is_local_master, ["spark://127.0.0.1:7077", "yarn", "k8s://x:443",
                                          "local-cluster[2,1,1024]"]))  # fmt: skip


def test_an_s3_compatible_endpoint_gives_path_style_plain_http_and_the_keys() -> None:
    settings = s3a_settings(
        S3Settings(
            endpoint_url="http://127.0.0.1:9000",
            region="us-east-1",
            access_key_id="AKIAEXAMPLE",
            secret_access_key="secret-example",
            allow_http=True,
        )
    )
    assert settings == {
        S3A + "endpoint": "http://127.0.0.1:9000",
        S3A + "path.style.access": "true",
        S3A + "connection.ssl.enabled": "false",
        S3A + "endpoint.region": "us-east-1",
        S3A + "access.key": "AKIAEXAMPLE",
        S3A + "secret.key": "secret-example",
        S3A + "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }


def test_credentials_come_from_the_environment_and_a_session_token_makes_them_temporary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-from-env")
    settings = s3a_settings(S3Settings().resolved())  # as a Store resolves its settings
    assert settings == {
        S3A + "access.key": "from-env",
        S3A + "secret.key": "secret-from-env",
        S3A + "session.token": "token-from-env",
        S3A + "aws.credentials.provider":
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
    }  # fmt: skip


def test_without_credentials_hadoop_aws_finds_its_own() -> None:
    # AWS S3 itself from a cluster with an instance profile: nothing to say but the region
    settings = s3a_settings(S3Settings(region="us-east-2", allow_http=False))
    assert settings == {S3A + "endpoint.region": "us-east-2"}


def test_local_mode_is_bound_to_loopback_and_a_cluster_keeps_its_own_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    local = session_settings("local[2]", None, tmp_path)
    assert local["spark.driver.bindAddress"] == local["spark.driver.host"] == "127.0.0.1"
    assert local["spark.ui.enabled"] == "false" and local["spark.sql.shuffle.partitions"] == "4"
    assert (tmp_path / "log4j2.properties").is_file()
    cluster = session_settings("spark://10.0.0.5:7077", None, tmp_path)
    assert "spark.driver.host" not in cluster  # the machine's address, as Spark picks it
    assert not {"spark.ui.enabled", "spark.sql.shuffle.partitions"} & set(cluster)
    for settings in (local, cluster):  # what results depend on, always
        assert settings["spark.sql.session.timeZone"] == "UTC"
        assert settings["spark.sql.ansi.enabled"] == "false"
        assert not any(key.startswith(S3A) for key in settings)
    monkeypatch.setenv("SPARK_LOCAL_IP", "10.0.0.9")
    s3 = S3Settings(endpoint_url="http://10.0.0.2:9000", allow_http=True)
    cluster = session_settings("yarn", s3, tmp_path)
    assert cluster["spark.driver.host"] == cluster["spark.driver.bindAddress"] == "10.0.0.9"
    assert cluster[S3A + "endpoint"] == "http://10.0.0.2:9000"


def test_the_refusal_names_the_jar_in_one_sentence() -> None:
    assert "hadoop-aws jar" in NO_HADOOP_AWS and "org.apache.hadoop:hadoop-aws" in NO_HADOOP_AWS
    assert NO_HADOOP_AWS.count(". ") == 0 and NO_HADOOP_AWS.endswith(".")
