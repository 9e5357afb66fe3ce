"""The command line starts without torch, anndata or scipy.stats: those load only for the commands that need them."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "anndata", "scipy.stats", "pandas", "scanpy", "scvi", "fastapi")


def _loaded_after(code: str) -> list[str]:
    """Heavy modules present in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_cli_and_build_parser_load_nothing_heavy():
    assert _loaded_after("import scconcepts.cli as cli; cli.build_parser()") == []


def test_help_loads_nothing_heavy():
    code = "import scconcepts.cli as cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    assert _loaded_after(code) == []


def test_info_loads_nothing_heavy(tmp_path):
    from scconcepts.results import new_results_folder

    folder = tmp_path / "results"
    with new_results_folder(folder, info={"command": "run", "model": "scvi"}) as tmp:
        (tmp / "metrics.json").write_text(json.dumps({"r2": 0.9, "n_concepts": 40}))
    loaded = _loaded_after(f"import scconcepts.cli as cli; assert cli.main(['info', {str(folder)!r}]) == 0")
    assert loaded == []


@pytest.mark.slow
def test_explorer_does_not_load_torch():
    assert "torch" not in _loaded_after("import scconcepts.app")


@pytest.mark.parametrize("name", ["tl", "ds", "models", "sae", "pl"])
def test_lazy_submodules_are_reachable(name):
    import importlib

    import scconcepts

    assert name in dir(scconcepts)
    assert getattr(scconcepts, name) is importlib.import_module(f"scconcepts.{name}")


def test_unknown_attribute_is_an_attribute_error():
    import scconcepts

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        scconcepts.nope  # noqa: B018
