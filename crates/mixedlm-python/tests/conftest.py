"""Shared fixtures: the repository's data sets and reference results, in every input kind."""

from __future__ import annotations

import json
import pathlib
import sys

import pandas as pd
import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
DATA = REPO / "tests" / "data"
REFERENCE = DATA / "reference"
sys.path.insert(0, str(HERE))


def read_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


@pytest.fixture(scope="session")
def sleepstudy() -> pd.DataFrame:
    return read_csv("sleepstudy")


@pytest.fixture(scope="session")
def mathachieve() -> pd.DataFrame:
    return read_csv("mathachieve")


@pytest.fixture(scope="session")
def pastes() -> pd.DataFrame:
    return read_csv("pastes")


@pytest.fixture(scope="session")
def tutorial_reference() -> dict:
    return json.loads((HERE / "data" / "statsmodels_tutorial.json").read_text())


def reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())
