"""The engine extension point: every registered engine is what the builder calls, and an engine
type's packages are recorded beside those every build uses. (A build on an engine registered
from outside the package: tests/transform/test_builder.py.)"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from lakehouse.errors import BuildError
from lakehouse.transform.builder import engine_package_versions as package_versions
from lakehouse.transform.engines import (
    BUILD_PACKAGES,
    ENGINES,
    Engine,
    EngineBase,
    EngineType,
    PartsEngine,
)
from tests.transform.engines.toy import TOY, ToyEngine


@pytest.fixture
def with_toy() -> Iterator[None]:
    ENGINES.register(TOY)
    try:
        yield
    finally:
        ENGINES.unregister(TOY.name)


def protocol_members(*protocols: type) -> dict[str, inspect.Signature | None]:
    """The Protocols' own members: each method's signature, None for the `name` property."""
    return {
        name: None if isinstance(value, property) else inspect.signature(value)
        for protocol in protocols
        for name, value in vars(protocol).items()
        if not name.startswith("_")
    }


def test_the_protocol_is_what_the_builder_calls() -> None:
    assert set(protocol_members(EngineBase)) == {"name", "parquet_table", "view", "close"}
    assert set(protocol_members(Engine)) == {"write_parquet"}
    assert set(protocol_members(PartsEngine)) == {"write_parts"}
    write = protocol_members(Engine)["write_parquet"]
    assert write is not None and list(write.parameters) == [
        "self", "expression", "local_path", "codec", "crs"
    ]  # fmt: skip
    parts = protocol_members(PartsEngine)["write_parts"]
    assert parts is not None and list(parts.parameters) == [
        "self", "expression", "folder", "codec", "crs"
    ]  # fmt: skip


def test_every_registered_engine_declares_the_protocol(with_toy: None) -> None:
    names = ENGINES.names()
    assert names[:2] == ["duckdb", "spark"] and "toy" in names
    for name in names:
        engine_type = ENGINES.get(name)
        assert isinstance(engine_type, EngineType) and engine_type.name == name
        engine_class = engine_type.open  # the engine's class, opened with an EngineContext
        assert isinstance(engine_class, type), name
        assert list(inspect.signature(engine_class).parameters) == ["context"], name
        # an engine writing parts into the store has write_parts, any other write_parquet
        writer = PartsEngine if engine_type.writes_parts else Engine
        for member, signature in protocol_members(EngineBase, writer).items():
            found = getattr(engine_class, member, None)
            if signature is None:
                assert found == name, f"{name}.{member}"
            else:
                assert callable(found), f"{name}.{member}"
                parameters = list(inspect.signature(found).parameters)
                assert parameters == list(signature.parameters), f"{name}.{member}"
    assert ENGINES.get("spark").writes_parts and not ENGINES.get("duckdb").writes_parts


def test_only_duckdb_keeps_a_database_for_sql() -> None:
    assert ENGINES.get("duckdb").provides_database
    assert not ENGINES.get("spark").provides_database  # the builder writes one after Spark


def test_an_engine_records_the_build_packages_then_its_own() -> None:
    assert package_versions("duckdb").keys() == set(BUILD_PACKAGES)
    assert list(package_versions("duckdb")) == list(BUILD_PACKAGES)
    assert list(package_versions("spark")) == [*BUILD_PACKAGES, "pyspark"]
    again = EngineType(name="again", open=ToyEngine, packages=("duckdb", "pytest", "duckdb"))
    assert again.fingerprinted_packages == (*BUILD_PACKAGES, "pytest")  # each once


def test_an_unknown_engine_names_the_registered_ones(with_toy: None) -> None:
    with pytest.raises(BuildError, match="Unknown engine 'flink'; use one of: duckdb, spark, toy"):
        package_versions("flink")
