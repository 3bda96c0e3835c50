"""The page's state in the URL, so that a link pasted into a ticket opens the same view:
`?page=diff&product=prod&builds=<old>,<new>` or `?page=sources&dataset=lots&versions=a,b`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from lakehouse.errors import NotFoundError

PAGES = {
    "sources": "Sources",
    "builds": "Builds",
    "diff": "Diff",
    "lineage": "Lineage & dictionary",
}
DEFAULT_PAGE = "sources"


@dataclass(frozen=True)
class PageState:
    """What the URL holds: the page, and the dataset and versions (Sources), the product and
    builds or published versions (Builds, Diff, Lineage) it shows."""

    page: str = DEFAULT_PAGE
    dataset: str | None = None
    versions: tuple[str, ...] = field(default_factory=tuple)
    product: str | None = None
    builds: tuple[str, ...] = field(default_factory=tuple)

    def with_(self, **changes: object) -> PageState:
        return replace(self, **changes)  # type: ignore[arg-type]


def _one(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value or None
    return value[-1] if value else None


def _listed(params: Mapping[str, str | Sequence[str]], name: str) -> tuple[str, ...]:
    value = _one(params, name)
    return tuple(part.strip() for part in value.split(",") if part.strip()) if value else ()


def from_query(params: Mapping[str, str | Sequence[str]]) -> PageState:
    """The state a URL's query parameters give (an unknown page is the default page)."""
    page = _one(params, "page") or DEFAULT_PAGE
    return PageState(
        page=page if page in PAGES else DEFAULT_PAGE,
        dataset=_one(params, "dataset"),
        versions=_listed(params, "versions"),
        product=_one(params, "product"),
        builds=_listed(params, "builds"),
    )


def to_query(state: PageState) -> dict[str, str]:
    """The query parameters of a state (empty parts left out)."""
    found = {
        "page": state.page,
        "dataset": state.dataset or "",
        "versions": ",".join(state.versions),
        "product": state.product or "",
        "builds": ",".join(state.builds),
    }
    return {name: value for name, value in found.items() if value}


def link(state: PageState) -> str:
    """The relative link of a state (`?page=...`)."""
    return "?" + urlencode(to_query(state), safe=",")


def pick(
    wanted: str | None,
    existing: Sequence[str],
    noun: str,
    owner: str,
    default: str | None = None,
) -> str:
    """`wanted` if it is among `existing`; when nothing is asked for, `default` (else the last
    one). An unknown one is a NotFoundError naming the ones that exist ("'numbers' has no
    version 'x'; its versions: a, b."); so is asking among none."""
    if not existing:
        raise NotFoundError(f"{owner} has no {noun} yet.")
    if wanted is None:
        return default if default is not None else existing[-1]
    if wanted not in existing:
        raise NotFoundError(
            f"{owner} has no {noun} {wanted!r}; its {noun}s: {', '.join(existing)}."
        )
    return wanted


def pick_pair(
    wanted: Sequence[str],
    existing: Sequence[str],
    noun: str,
    owner: str,
    defaults: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """Two of `existing` (old, new): those `wanted` names, else `defaults`, else the last two
    (the only one twice when there is one); an unknown one is refused as `pick` does."""
    if not existing:
        raise NotFoundError(f"{owner} has no {noun} yet.")
    if defaults is None:
        defaults = (existing[-2] if len(existing) > 1 else existing[-1], existing[-1])
    old = pick(wanted[0] if len(wanted) > 0 else None, existing, noun, owner, defaults[0])
    new = pick(wanted[1] if len(wanted) > 1 else None, existing, noun, owner, defaults[1])
    return old, new
