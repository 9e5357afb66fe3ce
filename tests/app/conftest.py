from pathlib import Path

import pytest
from benchmarks._synthetic import make_synthetic_results

XSS_LABEL = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> T cell activation'


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic results folder with every optional part (shared, read-only for tests)."""
    out = tmp_path_factory.mktemp("explorer") / "results"
    return make_synthetic_results(out, labels={1: XSS_LABEL, 2: "B cell receptor signalling"})


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Path:
    """A synthetic results folder of one's own (for tests that write annotations)."""
    return make_synthetic_results(tmp_path / "results", labels={1: XSS_LABEL, 2: "B cell receptor signalling"})


@pytest.fixture(scope="session")
def bare_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with only the map, the activations and the concept table."""
    out = tmp_path_factory.mktemp("bare") / "results"
    return make_synthetic_results(
        out, with_cell_type=False, with_attribution=False, with_enrichment=False, with_sae=False
    )
