"""Used from Python, scVI training shows its progress but none of Lightning's chatter; real warnings still show."""

import logging
import os
import subprocess
import sys
import warnings

import pytest

from scconcepts._quiet import quiet_libraries


def test_library_deprecations_hidden_user_warnings_kept():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_libraries():
            warnings.warn_explicit("old api", DeprecationWarning, "pytree.py", 21, module="lightning.pytorch.utils")
            warnings.warn_explicit("old anndata", FutureWarning, "x.py", 1, module="anndata._core")
            warnings.warn_explicit("your data has NaN", UserWarning, "mine.py", 3, module="mypackage.io")
            warnings.warn_explicit("your own deprecation", DeprecationWarning, "mine.py", 4, module="mypackage")
            warnings.warn_explicit("scvi real problem", UserWarning, "s.py", 5, module="scvi.model")
    assert sorted(str(w.message) for w in caught) == ["scvi real problem", "your data has NaN", "your own deprecation"]


def test_logger_levels_restored():
    logger = logging.getLogger("lightning.pytorch")
    before = logger.level
    with quiet_libraries():
        assert logging.getLogger("lightning.pytorch").getEffectiveLevel() >= logging.WARNING
    assert logger.level == before


@pytest.mark.slow
def test_python_api_scvi_training_is_quiet():
    code = "import scconcepts as scc; a = scc.ds.pbmc68k()[:150].copy(); scc.tl.embed(a, model='scvi', max_epochs=2)"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    for chatter in ("GPU available", "TPU available", "Tip:", "Seed set", "deprecated", "log_every_n_steps"):
        assert chatter not in run.stderr, run.stderr
    assert "training scVI" in run.stderr  # the progress bar stays
