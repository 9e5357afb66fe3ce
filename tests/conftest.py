"""Fixtures shared by the test folders."""

from pathlib import Path

import pytest
from tests._token_run import build_token_run


@pytest.fixture(scope="session")
def token_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``run --tokens --layer layer_1`` results folder (tiny scGPT checkpoint, 240 cells); read only."""
    return build_token_run(tmp_path_factory.mktemp("token_run"))
