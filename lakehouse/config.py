"""Project configuration: `lakehouse.toml`, resolved with the environment and validated at load."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from lakehouse.errors import ConfigError, describe_validation_error
from lakehouse.records import Strict

CONFIG_FILE_NAME = "lakehouse.toml"
CONFIG_ENV_VAR = "LAKEHOUSE_CONFIG"
ROOT_ENV_VAR = "LAKEHOUSE_ROOT"
ENV_ENV_VAR = "LAKEHOUSE_ENV"  # an environment (dev, prod, ...): a prefix of the store
MEMORY_ENV_VAR = "LAKEHOUSE_MEMORY_LIMIT"  # e.g. 2GB: DuckDB spills to the workspace beyond it
TEMPLATES_FOLDER = "templates"  # the default folder of the ingest templates
OLD_TEMPLATES_FOLDER = "recipes/sources"  # the default before templates/ (named in their toml)

DEFAULT_CONFIG_TEXT = """\
# lakehouse configuration. Paths are relative to this file.

[store]
# Where archived and built data live: a local folder (the embedded default, no server)
# or an S3 location such as "s3://my-bucket/lakehouse".
root = ".lakehouse"

# Only used for s3:// roots. Keys are read from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
# endpoint and region may also come from AWS_ENDPOINT_URL / AWS_REGION.
# [store.s3]
# endpoint_url = "http://127.0.0.1:9000"
# region = "us-east-1"

[paths]
templates = "templates"           # <dataset>.yml: one ingest template per source dataset
recipes = "recipes"               # <product>.yml recipes and their .lock files
transforms = "transforms"         # transforms/<product>/: the @model functions
contracts = "contracts"           # contracts/<product>/dictionary.yml: the data dictionary
seeds = "seeds"                   # <name>.csv: small lookup tables a recipe reads as `{seed: name}`
workspace = ".lakehouse/workspace"  # local: each build's DuckDB database file
"""


class S3Settings(Strict):
    """How to reach an S3-compatible object store; credentials come from the environment."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = Field(default=None, repr=False)
    secret_access_key: str | None = Field(default=None, repr=False)
    allow_http: bool | None = None

    def resolved(self) -> S3Settings:
        """Fill what the file left empty from the standard AWS environment variables."""
        env = os.environ
        endpoint = (
            self.endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        )
        return S3Settings(
            endpoint_url=endpoint,
            region=self.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            access_key_id=self.access_key_id or env.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=self.secret_access_key or env.get("AWS_SECRET_ACCESS_KEY"),
            allow_http=(
                self.allow_http
                if self.allow_http is not None
                else bool(endpoint and endpoint.startswith("http://"))
            ),
        )


class EngineSettings(Strict):
    """How much of the machine a DuckDB build may use; beyond `memory_limit` it spills to
    <workspace>/duckdb-tmp (LAKEHOUSE_MEMORY_LIMIT overrides the file)."""

    memory_limit: str | None = Field(
        default=None, pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$"
    )
    threads: int | None = Field(default=None, ge=1, le=256)


class GcSettings(Strict):
    """`lake gc`: what stays beyond what a lock, a published version or a pin needs."""

    keep_builds: int = Field(
        default=5, ge=0, description="how many of each product's latest builds always stay"
    )


class OpenLineageSettings(Strict):
    """OpenLineage run events (START, COMPLETE, FAIL) of ingest, build and publish, so that
    Marquez or a data catalog can follow the lakehouse; off unless `file` or `url` is set.
    OPENLINEAGE_URL in the environment sets `url`."""

    file: str | None = Field(
        default=None, description="JSON lines, one event a line; relative to the project"
    )
    url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="an OpenLineage HTTP endpoint's base URL; events go to <url>/api/v1/lineage",
    )
    namespace: str = Field(default="lakehouse", min_length=1, description="the jobs' namespace")
    timeout_seconds: float = Field(default=5.0, gt=0)


class StoreSettings(Strict):
    root: str = ".lakehouse"
    s3: S3Settings = S3Settings()


class PathSettings(Strict):
    templates: str = TEMPLATES_FOLDER
    recipes: str = "recipes"
    transforms: str = "transforms"
    contracts: str = "contracts"
    seeds: str = "seeds"  # <name>.csv: small lookup tables kept in the repo
    workspace: str = ".lakehouse/workspace"  # local: each build's DuckDB database file


class LakehouseConfig(Strict):
    """The whole configuration, with `project_dir` the folder that holds lakehouse.toml."""

    project_dir: Path
    store: StoreSettings = StoreSettings()
    paths: PathSettings = PathSettings()
    engine: EngineSettings = EngineSettings()
    gc: GcSettings = GcSettings()
    openlineage: OpenLineageSettings = OpenLineageSettings()
    env: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$", description="dev, prod, ..."
    )

    @property
    def store_root(self) -> str:
        """The store root as a URL or an absolute local path (LAKEHOUSE_ROOT wins), with the
        environment's prefix when one is chosen (`--env` or LAKEHOUSE_ENV)."""
        root = os.environ.get(ROOT_ENV_VAR) or self.store.root
        env = self.env or os.environ.get(ENV_ENV_VAR) or None
        if env is not None:
            check_env_name(env)
            root = f"{root.rstrip('/')}/{env}"
        if "://" in root:
            return root
        return str((self.project_dir / root).resolve())

    def for_env(self, env: str | None) -> LakehouseConfig:
        """The same project in another environment."""
        if env is not None:
            check_env_name(env)
        return self.model_copy(update={"env": env})

    @property
    def templates_dir(self) -> Path:
        """The folder of the ingest templates, `[paths] templates` (default templates/). A
        project whose lakehouse.toml does not set it and whose templates are still in the old
        default folder, recipes/sources/, gets an error rather than no templates."""
        if "templates" not in self.paths.model_fields_set:
            self._check_templates_not_left_behind()
        return (self.project_dir / self.paths.templates).resolve()

    def _check_templates_not_left_behind(self) -> None:
        old = self.project_dir / OLD_TEMPLATES_FOLDER
        if _has_templates(old) and not _has_templates(self.project_dir / TEMPLATES_FOLDER):
            raise ConfigError(
                f"This project's ingest templates are in {old}/, which is no longer the default "
                f"templates folder: move that folder to {TEMPLATES_FOLDER}/ or set `[paths] "
                f'templates = "{OLD_TEMPLATES_FOLDER}"` in {self.project_dir / CONFIG_FILE_NAME}.'
            )

    @property
    def recipes_dir(self) -> Path:
        return (self.project_dir / self.paths.recipes).resolve()

    @property
    def transforms_dir(self) -> Path:
        return (self.project_dir / self.paths.transforms).resolve()

    @property
    def contracts_dir(self) -> Path:
        return (self.project_dir / self.paths.contracts).resolve()

    @property
    def seeds_dir(self) -> Path:
        return (self.project_dir / self.paths.seeds).resolve()

    @property
    def workspace_dir(self) -> Path:
        return (self.project_dir / self.paths.workspace).resolve()

    @property
    def memory_limit(self) -> str | None:
        return os.environ.get(MEMORY_ENV_VAR) or self.engine.memory_limit


def _has_templates(folder: Path) -> bool:
    """Whether `folder` holds a template file (<dataset>.yml or .yaml)."""
    return folder.is_dir() and any(p.suffix in (".yml", ".yaml") for p in folder.iterdir())


def find_config_file(start: Path | None = None) -> Path | None:
    """The config named by LAKEHOUSE_CONFIG, else the nearest lakehouse.toml at or above `start`."""
    if env_path := os.environ.get(CONFIG_ENV_VAR):
        return Path(env_path)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None = None) -> LakehouseConfig:
    """Load and validate lakehouse.toml; errors name the file and the field."""
    config_path = path or find_config_file()
    if config_path is None:
        raise ConfigError(
            f"No {CONFIG_FILE_NAME} found here or in any parent folder; run `lake init` first."
        )
    if not config_path.is_file():
        raise ConfigError(
            f"Config file {config_path} does not exist; run `lake init` to create it."
        )
    try:
        raw: dict[str, Any] = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid TOML ({exc}); fix the file.") from exc
    s3_file_settings = (
        raw.get("store", {}).get("s3", {}) if isinstance(raw.get("store"), dict) else {}
    )
    if isinstance(s3_file_settings, dict) and (
        {"access_key_id", "secret_access_key"} & set(s3_file_settings)
    ):
        raise ConfigError(
            f"{config_path}: S3 keys must not be written in lakehouse.toml; remove them and set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment."
        )
    try:
        return LakehouseConfig(project_dir=config_path.parent.resolve(), **raw)
    except ValidationError as exc:
        raise ConfigError(f"{config_path}: {describe_validation_error(exc)}") from exc


def init_project(project_dir: Path, root: str | None = None) -> tuple[Path, bool]:
    """Write a default lakehouse.toml unless one exists; return (path, created)."""
    project_dir.mkdir(parents=True, exist_ok=True)
    config_path = project_dir / CONFIG_FILE_NAME
    if config_path.exists():
        return config_path, False
    text = DEFAULT_CONFIG_TEXT
    if root is not None:  # a JSON string is a valid TOML basic string
        text = text.replace('root = ".lakehouse"', f"root = {json.dumps(root)}")
    config_path.write_text(text, encoding="utf-8")
    _ignore_local_state(project_dir)
    return config_path, True


def _ignore_local_state(project_dir: Path) -> None:
    """Keep the store, the workspace and generated data out of git (and out of builds' dirty
    flag), adding to an existing .gitignore rather than replacing it."""
    gitignore = project_dir / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    wanted = [line for line in (".lakehouse/", "data/") if line not in existing.splitlines()]
    if wanted:
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        gitignore.write_text(existing + prefix + "\n".join(wanted) + "\n", encoding="utf-8")


def check_env_name(env: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", env):
        raise ConfigError(
            f"Environment {env!r} is not a valid name; use lower-case letters, digits and _, "
            "e.g. dev or prod."
        )
    return env
