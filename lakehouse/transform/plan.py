"""`lake plan <product>`: what a build would do, without running any model.

For each input of the product's lock: the version it pins against the archive's latest version
of that dataset (for another product's output, that product's newest passed build; for a
seed, its file in the repo now); a lock
behind an input the recipe asks `latest` of is stale (`lake lock <product>` moves it on). Then
each model of the product's DAG: a view (computed inside the models that read it), reused from
the cache, or rebuilt, and why, by comparing its fingerprint's parts with those the last build
of the product recorded (transform/reuse.py, whose functions the builder decides with too, so a
plan and the build after it agree):

- `full_refresh`: the build is asked to recompute everything;
- `never_built`: no build of the product has run the model;
- `code`: its own code changed (in its product's package: the function, or a helper, class or
  constant of the product it uses);
- `shared_code`: a helper it uses in transforms/common/ changed;
- `input`: an input changed (a recipe input's locked version, or a model it reads);
- `contract`: the CRS its data dictionary declares changed (it is written into the output);
- `engine`: the engine or its fingerprinted package versions changed;
- `cache`: its inputs and code are as built, but the cached result is gone or damaged;
- `changed`: it changed since a build recorded before fingerprint parts were (build.json 1).

A reused model whose contract (or dictionary entry) changed is not rebuilt: its contract is
checked again (`ModelPlan.contracts`). The JSON form (`Plan.to_dict`, `lake plan --json`):

    {"plan_format": 1, "product": str, "engine": str, "full_refresh": bool,
     "lock": str | null,             # the lock file read; null: built from the latest versions
     "compared_with": str | null,    # the build the reasons compare with (the latest one)
     "inputs": [{"alias", "kind": "dataset" | "product" | "seed", "name", "pinned", "latest",
                 "fixed": bool,      # the recipe asks for this version itself: never stale
                 "stale": bool}],
     "stale": [alias, ...], "fix": "lake lock <product>" | null,
     "models": [{"name", "layer", "action": "rebuild" | "reuse" | "view", "fingerprint",
                 "reasons": [{"kind", "detail"}],
                 "contracts": [{"defined_in", "digest", "action": "check" | "reuse"}]}],
     "rebuild": [name, ...], "reuse": [name, ...]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lakehouse.archive.archive import Archive
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.contract import BuildTables, Contract, dictionary_contract
from lakehouse.errors import IntegrityError, NewerRecordError, NotFoundError
from lakehouse.names import LATEST, check_dataset_name
from lakehouse.store.storage import Store
from lakehouse.transform.builder import BuildSpec
from lakehouse.transform.cache import Lookup
from lakehouse.transform.index import find_build, list_builds
from lakehouse.transform.models import COMMON, PACKAGE
from lakehouse.transform.models import plan as model_order
from lakehouse.transform.products import build_spec
from lakehouse.transform.recipe import (
    DatasetInput,
    Lock,
    LockedInput,
    SeedInput,
    lock_path,
    read_lock,
)
from lakehouse.transform.records import BuildRecord, FingerprintParts, ModelRunRecord
from lakehouse.transform.reuse import (
    ModelKey,
    cached_result,
    contract_results_path,
    declared_crs,
    engine_package_versions,
    engine_text,
    fingerprint_models,
    is_view,
    lock_fingerprints,
)
from lakehouse.transform.seeds import SEED_VERSION_DIGITS, hash_seed
from lakehouse.transform.selection import select_models

PLAN_FORMAT = 1
ReasonKind = Literal[
    "full_refresh",
    "never_built",
    "code",
    "shared_code",
    "input",
    "contract",
    "engine",
    "cache",
    "changed",
]


@dataclass(frozen=True)
class InputPlan:
    """One input of the lock: the version it pins and the newest one there is (None if the
    archive or the builds hold none); `fixed` when the recipe asks for that version itself."""

    alias: str
    kind: Literal["dataset", "product", "seed"]
    name: str
    pinned: str
    latest: str | None
    fixed: bool

    @property
    def stale(self) -> bool:
        return not self.fixed and self.latest is not None and self.latest != self.pinned


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    detail: str


@dataclass(frozen=True)
class ContractPlan:
    """A contract the build checks on a model: `check` runs it, `reuse` takes the results
    cached for this fingerprint and this contract's digest."""

    defined_in: str
    digest: str
    action: Literal["check", "reuse"]


@dataclass(frozen=True)
class ModelPlan:
    name: str
    layer: str
    action: Literal["rebuild", "reuse", "view"]
    fingerprint: str
    reasons: list[Reason] = field(default_factory=list)
    contracts: list[ContractPlan] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    product: str
    engine: str
    full_refresh: bool
    lock: str | None  # the lock file read (None: built from the latest versions)
    compared_with: str | None  # the latest build of the product, if any
    inputs: list[InputPlan]
    models: list[ModelPlan]

    @property
    def stale(self) -> list[InputPlan]:
        return [found for found in self.inputs if found.stale]

    @property
    def rebuild(self) -> list[str]:
        return [m.name for m in self.models if m.action == "rebuild"]

    @property
    def reuse(self) -> list[str]:
        return [m.name for m in self.models if m.action == "reuse"]

    @property
    def fix(self) -> str | None:
        return f"lake lock {self.product}" if self.stale else None

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON data, in the shape the module's docstring documents."""
        return {
            "plan_format": PLAN_FORMAT,
            "product": self.product,
            "engine": self.engine,
            "full_refresh": self.full_refresh,
            "lock": self.lock,
            "compared_with": self.compared_with,
            "inputs": [{**asdict(found), "stale": found.stale} for found in self.inputs],
            "stale": [found.alias for found in self.stale],
            "fix": self.fix,
            "models": [asdict(model) for model in self.models],
            "rebuild": self.rebuild,
            "reuse": self.reuse,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def stale_lines(self) -> list[str]:
        """One sentence per stale input of the lock."""
        return [
            f"{found.alias}: the lock pins {found.name} {found.pinned}, but "
            f"{_newest(found)} is {found.latest}; run `lake lock {self.product}` to build "
            "from it."
            for found in self.stale
        ]

    def summary(self) -> str:
        """`N models to rebuild (names), M reused`."""
        rebuild, reuse = self.rebuild, self.reuse
        names = f" ({', '.join(rebuild)})" if rebuild else ""
        noun = "model" if len(rebuild) == 1 else "models"
        return f"{len(rebuild)} {noun} to rebuild{names}, {len(reuse)} reused"

    def short_lines(self) -> list[str]:
        """The short form `lake build` prints first: stale inputs, then the summary."""
        return [*self.stale_lines(), self.summary()]


def _newest(found: InputPlan) -> str:
    if found.kind == "dataset":
        return "the archive's latest version"
    if found.kind == "seed":
        return "the file in the repo now"
    return f"the newest passed build of {found.name.split('.', 1)[0]!r}"


def plan_product(
    config: LakehouseConfig,
    store: Store,
    archive: Archive,
    product: str,
    *,
    latest: bool = False,
    full_refresh: bool = False,
    engine: str = "duckdb",
    select: Sequence[str] = (),
) -> Plan:
    """What `lake build product` (with the same options) would do, without running a model."""
    spec = build_spec(config, archive, product, latest=latest)
    selected = select_models(spec.models, select, product) if select else []
    locked = not latest and read_lock(config.recipes_dir, product) is not None
    lock = str(lock_path(config.recipes_dir, product)) if locked else None
    return plan_build(spec, store, archive, lock=lock, full_refresh=full_refresh, engine=engine,
                      seeds_dir=config.seeds_dir, selected=selected)  # fmt: skip


def plan_build(
    spec: BuildSpec,
    store: Store,
    archive: Archive,
    *,
    lock: str | None,
    full_refresh: bool = False,
    engine: str = "duckdb",
    seeds_dir: Path | None = None,
    selected: Sequence[str] = (),
) -> Plan:
    """The plan of a build of `spec` on `engine` (its fingerprints, as the builder's); a seed
    is compared with its file in `seeds_dir`; with `selected` models, of that selection's
    run (`Builder.run(select=...)`)."""
    from lakehouse.transform.engines import ENGINES

    recipe = spec.recipe
    product = check_dataset_name(recipe.name)
    engine_name = ENGINES.get(engine).name
    targets = list(selected) or list(dict.fromkeys([*recipe.outputs, *recipe.keep]))
    order = model_order(spec.models, spec.lock.inputs, targets)
    crs = {name: declared_crs(recipe, spec.dictionary, name) for name in order}
    text = engine_text(engine_name, engine_package_versions(engine_name))
    keys = fingerprint_models(spec.models, order, spec.lock, text, crs)
    fingerprints = lock_fingerprints(spec.lock) | {n: k.fingerprint for n, k in keys.items()}
    tables = BuildTables(fingerprints, where=str(spec.dictionary_file or "the data dictionary"))
    builds = list_builds(store, product)
    inputs = [
        _input_plan(alias, pinned, spec, store, archive, lock is not None, seeds_dir)
        for alias, pinned in spec.lock.inputs.items()
    ]
    models = []
    for name in order:
        found = spec.models[name]
        key = keys[name]
        previous = _last_run(builds, name)
        changes = [] if previous is None else _changes(key, previous, spec.lock)
        if is_view(found, recipe) and name not in selected:
            action: Literal["rebuild", "reuse", "view"] = "view"
            reasons = changes
        else:
            lookup = cached_result(store, recipe, key, full_refresh=full_refresh)
            action = "reuse" if lookup.entry is not None else "rebuild"
            reasons = []
            if action == "rebuild":
                reasons = _rebuild_reasons(previous, changes, lookup, full_refresh)
        contracts = [
            _contract_plan(store, product, key, contract, full_refresh)
            for contract in _contracts_of(spec, name, tables)
        ]
        models.append(ModelPlan(name, found.layer, action, key.fingerprint, reasons, contracts))
    compared = builds[-1].build_id if builds else None
    return Plan(product, engine_name, full_refresh, lock, compared, inputs, models)


def _input_plan(
    alias: str,
    pinned: LockedInput,
    spec: BuildSpec,
    store: Store,
    archive: Archive,
    fixed: bool,
    seeds_dir: Path | None,
) -> InputPlan:
    """`fixed`: whether the pinned version is the recipe's own (a lock's `latest` is a version
    the lock chose; without a lock every input is at its newest)."""
    wanted = spec.recipe.inputs[alias]
    if isinstance(wanted, SeedInput):  # the file in the repo is its latest version
        return InputPlan(alias, "seed", pinned.name, pinned.version,
                         _seed_now(seeds_dir, wanted.seed), not fixed)  # fmt: skip
    if isinstance(wanted, DatasetInput):
        asks_latest = wanted.version == LATEST
    else:
        asks_latest = wanted.build == LATEST
    kind: Literal["dataset", "product", "seed"]
    if pinned.dataset is not None:
        try:
            newest: str | None = archive.manifest(pinned.dataset, LATEST).version
        except NewerRecordError:
            raise
        except (NotFoundError, IntegrityError):  # none, or unreadable: the build says which
            newest = None
        kind = "dataset"
    else:
        assert pinned.product is not None
        try:
            newest = _newest_build(store, pinned)
        except NewerRecordError:
            raise
        except (NotFoundError, IntegrityError):
            newest = None
        kind = "product"
    return InputPlan(alias, kind, pinned.name, pinned.version, newest, not (fixed and asks_latest))


def _newest_build(store: Store, pinned: LockedInput) -> str:
    """The newest passed build of the input's product; the pinned one when the newer build's
    output holds the same rows (an unchanged rebuild does not make the lock stale)."""
    assert pinned.product is not None
    newest = find_build(store, pinned.product, LATEST, passed_only=True)
    output = newest.outputs.get(f"outputs/{pinned.output}")
    if output is not None and output.content_sha256 == pinned.sha256:
        return pinned.version
    return newest.build_id


def _seed_now(seeds_dir: Path | None, name: str) -> str | None:
    """The version a lock would pin of a seed now (None if its file is gone: the build says
    whether the store still has the pinned bytes)."""
    if seeds_dir is None:
        return None
    try:
        return hash_seed(seeds_dir, name)[:SEED_VERSION_DIGITS]
    except NotFoundError:
        return None


def _last_run(builds: list[BuildRecord], name: str) -> tuple[BuildRecord, ModelRunRecord] | None:
    """The latest build that ran model `name`, and how."""
    for record in reversed(builds):
        if name in record.models:
            return record, record.models[name]
    return None


def _changes(
    key: ModelKey, previous: tuple[BuildRecord, ModelRunRecord], lock: Lock
) -> list[Reason]:
    """What differs between a model's fingerprint and the one the build `previous` recorded."""
    record, run = previous
    if run.fingerprint == key.fingerprint:
        return []
    if run.parts is None:
        return [Reason("changed", f"changed since build {record.build_id}")]
    parts: FingerprintParts = run.parts
    found: list[Reason] = []
    own, shared = _code_changes(key.code, parts.code)
    if own:
        found.append(Reason("code", f"its code changed ({', '.join(own)})"))
    if shared:
        found.append(Reason("shared_code", f"a shared helper changed ({', '.join(shared)})"))
    changed_inputs = [
        _describe_input(name, record, lock)
        for name in key.inputs
        if parts.inputs.get(name) != key.inputs[name]
    ]
    if changed_inputs:
        noun = "an input" if len(changed_inputs) == 1 else "inputs"
        found.append(Reason("input", f"{noun} changed ({', '.join(changed_inputs)})"))
    if parts.crs != key.crs:
        found.append(
            Reason("contract", f"its CRS changed ({parts.crs or 'none'} -> {key.crs or 'none'})")
        )
    if parts.engine != key.engine:
        found.append(Reason("engine", _engine_change(parts.engine, key.engine)))
    if not found:  # the parts agree, the fingerprints do not: a change of how they combine
        found.append(Reason("changed", f"changed since build {record.build_id}"))
    return found


def _code_changes(now: Mapping[str, str], then: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The parts of a model's code that changed, were added or removed: its own (its product's),
    and those of transforms/common/ (named without the `transforms.` prefix)."""
    names = sorted(name for name in set(now) | set(then) if now.get(name) != then.get(name))
    shared_prefix = f"{PACKAGE}.{COMMON}"
    shown = [name.removeprefix(f"{PACKAGE}.") for name in names]
    shared = [s for name, s in zip(names, shown, strict=True) if _within(name, shared_prefix)]
    own = [s for name, s in zip(names, shown, strict=True) if not _within(name, shared_prefix)]
    return own, shared


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _describe_input(name: str, record: BuildRecord, lock: Lock) -> str:
    """An input that changed: a recipe input with its versions then and now, or a model."""
    then, now = record.lock.inputs.get(name), lock.inputs.get(name)
    if then is None or now is None:
        return name
    if then.version == now.version:
        return f"{name} {now.version}"
    return f"{name} {then.version} -> {now.version}"


def _engine_change(then: str, now: str) -> str:
    try:
        before, after = json.loads(then), json.loads(now)
    except ValueError:
        return "the engine changed"
    changed = [
        f"{name} {before.get(name, 'none')} -> {after.get(name, 'none')}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    return f"the engine changed ({', '.join(changed)})"


def _rebuild_reasons(
    previous: tuple[BuildRecord, ModelRunRecord] | None,
    changes: list[Reason],
    lookup: Lookup,
    full_refresh: bool,
) -> list[Reason]:
    """Why a table model is rebuilt: the build's option, a model never built, what changed
    since the last build, or what is wrong with its cached result."""
    if full_refresh:
        return [Reason("full_refresh", "--full-refresh recomputes every model")]
    if lookup.damage is not None:
        return [
            Reason(
                "cache",
                f"its cached result is damaged ({lookup.damage.reason}); the build sets it aside",
            )
        ]
    if lookup.note is not None:
        return [Reason("cache", "its cached result was written before results were checked")]
    if previous is None:
        return [Reason("never_built", "never built")]
    if changes:
        return changes
    if previous[1].status == "view":
        return [Reason("cache", f"a view in build {previous[0].build_id}, now a table")]
    return [Reason("cache", "its cached result is gone (or lacks the content hash it now needs)")]


def _contracts_of(spec: BuildSpec, name: str, tables: BuildTables) -> list[Contract]:
    """The contracts a build checks on model `name`, as the builder picks them."""
    if name not in spec.recipe.outputs:
        contract = spec.contracts.get(name)
        return [contract] if contract else []
    found = []
    if spec.dictionary is not None and name in spec.dictionary.tables:
        found.append(dictionary_contract(name, spec.dictionary.tables[name], tables))
    if name in spec.contracts:
        found.append(spec.contracts[name])
    return found


def _contract_plan(
    store: Store, product: str, key: ModelKey, contract: Contract, full_refresh: bool
) -> ContractPlan:
    """Whether the build checks a contract on a model or reuses the results cached for this
    fingerprint and this contract."""
    cached = contract_results_path(product, key.name, key.fingerprint, contract.digest)
    reuse = not full_refresh and store.exists(cached)
    return ContractPlan(contract.defined_in, contract.digest, "reuse" if reuse else "check")
