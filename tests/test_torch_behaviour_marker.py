"""The ``torch_behaviour(version)`` marker (tests/conftest.py): a reference test of behaviour PyTorch
gained in a later release is skipped under an older torch, never failed."""
import importlib.metadata

import pytest

from tests.conftest import _installed_torch


@pytest.mark.torch_behaviour("99.0")
def test_a_test_marked_for_a_future_torch_runs_only_without_torch():
    assert _installed_torch() is None   # with any torch installed, the marker skipped this


@pytest.mark.parametrize("text, expected", [("2.11.0+cu130", (2, 11)), ("2.13.0", (2, 13)), ("10.2.1.dev5", (10, 2))])
def test_the_installed_version_is_read_from_the_metadata(monkeypatch, text, expected):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: text)
    assert _installed_torch() == expected


def test_no_torch_reads_as_none(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert _installed_torch() is None
