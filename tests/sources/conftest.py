"""Servers the source tests start on 127.0.0.1: files, and a Socrata portal holding one
sample dataset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import fakes

DATASET = "abcd-1234"  # the portal's sample dataset


@pytest.fixture
def files() -> Iterator[fakes.FileServer]:
    with fakes.FileServer() as server:
        yield server


@pytest.fixture
def portal() -> Iterator[fakes.SocrataServer]:
    with fakes.SocrataServer() as server:
        server.add_sample_dataset(DATASET, n=2500, seed=3)
        yield server
