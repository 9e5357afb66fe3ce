import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from scconcepts._errors import InputError
from scconcepts.genesets import ensembl_to_symbol, go_bp, go_db_available, go_db_files

REPO = Path(__file__).resolve().parents[2]

GO_SCHEMA = """
CREATE TABLE go_term (_id INTEGER PRIMARY KEY, go_id CHAR(10) NOT NULL UNIQUE, term VARCHAR(255) NOT NULL,
  ontology VARCHAR(9) NOT NULL, definition TEXT NULL);
CREATE TABLE go_bp_parents (_id INTEGER NOT NULL, _parent_id INTEGER NOT NULL, relationship_type VARCHAR(7) NOT NULL);
"""
ORG_SCHEMA = """
CREATE TABLE genes (_id INTEGER PRIMARY KEY, gene_id VARCHAR(10) NOT NULL UNIQUE);
CREATE TABLE gene_info (_id INTEGER NOT NULL UNIQUE, gene_name VARCHAR(255) NOT NULL, symbol VARCHAR(80) NOT NULL);
CREATE TABLE go_bp (_id INTEGER NOT NULL, go_id CHAR(10) NOT NULL, evidence CHAR(3) NOT NULL);
CREATE TABLE ensembl (_id INTEGER NOT NULL, ensembl_id VARCHAR(20) NOT NULL);
"""


@pytest.fixture
def tiny_db(tmp_path):
    """root > A > B (is_a), root > C (is_a), C regulates A, plus an MF term; laid out as the script does."""
    go_dir, org_dir = tmp_path / "GO.db" / "extdata", tmp_path / "org.Hs.eg.db" / "extdata"
    go_dir.mkdir(parents=True)
    org_dir.mkdir(parents=True)
    with sqlite3.connect(go_dir / "GO.sqlite") as db:
        db.executescript(GO_SCHEMA)
        terms = [(1, "GO:0008150", "biological_process", "BP"), (2, "GO:0000002", "term A", "BP"),
                 (3, "GO:0000003", "term B", "BP"), (4, "GO:0000004", "term C", "BP"),
                 (5, "GO:0003674", "molecular_function", "MF")]  # fmt: skip
        db.executemany("insert into go_term values (?, ?, ?, ?, '')", terms)
        edges = [(2, 1, "isa"), (3, 2, "isa"), (4, 1, "part of"), (4, 2, "regulates")]
        db.executemany("insert into go_bp_parents values (?, ?, ?)", edges)
    with sqlite3.connect(org_dir / "org.Hs.eg.sqlite") as db:
        db.executescript(ORG_SCHEMA)
        for i, symbol in enumerate(["CD3E", "CD2", "LCK", "ACTB"], start=1):
            db.execute("insert into genes values (?, ?)", (i, str(900 + i)))
            db.execute("insert into gene_info values (?, ?, ?)", (i, f"{symbol} name", symbol))
            db.execute("insert into ensembl values (?, ?)", (i, f"ENSG0000000000{i}"))
        db.executemany("insert into go_bp values (?, ?, ?)",
                       [(1, "GO:0000003", "IDA"), (2, "GO:0000002", "IEA"), (3, "GO:0000004", "TAS"),
                        (4, "GO:0008150", "ND")])  # fmt: skip
    return tmp_path


def test_go_loader_propagates_along_is_a_and_part_of(tiny_db):
    sets = go_bp(tiny_db)
    genes = dict(zip(sets.term_ids, sets.genes, strict=True))
    assert set(genes["GO:0000003"]) == {"CD3E"}
    assert set(genes["GO:0000002"]) == {"CD3E", "CD2"}  # 'regulates' does not propagate LCK
    assert set(genes["GO:0000004"]) == {"LCK"}
    assert set(genes["GO:0008150"]) == {"CD3E", "CD2", "LCK"}  # ND annotation of ACTB dropped
    assert "GO:0003674" not in genes
    assert sets.name_of("GO:0000002") == "term A"
    assert dict(sets.parents) == {"GO:0000002": ("GO:0008150",), "GO:0000003": ("GO:0000002",),
                                  "GO:0000004": ("GO:0008150",)}  # fmt: skip
    assert ensembl_to_symbol(tiny_db)["ENSG00000000002"] == "CD2"
    with_nd = go_bp(tiny_db, exclude_evidence=())
    assert "ACTB" in dict(zip(with_nd.term_ids, with_nd.genes, strict=True))["GO:0008150"]


def test_go_loader_reads_a_flat_folder_and_the_environment(tiny_db, tmp_path, monkeypatch):
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(tiny_db / "GO.db/extdata/GO.sqlite", flat)
    shutil.copy(tiny_db / "org.Hs.eg.db/extdata/org.Hs.eg.sqlite", flat)
    assert go_db_files(flat)[0] == flat / "GO.sqlite"
    monkeypatch.setenv("SCCONCEPTS_GO_DB", str(flat))
    assert go_db_files()[0] == flat / "GO.sqlite"


def test_missing_or_broken_go_files_raise_input_error(tmp_path):
    with pytest.raises(InputError, match=r"install-go-db\.sh"):
        go_bp(tmp_path)
    assert not go_db_available(tmp_path)
    (tmp_path / "GO.sqlite").write_text("not a database")
    (tmp_path / "org.Hs.eg.sqlite").write_text("not a database")
    with pytest.raises(InputError, match="SQLite"):
        go_bp(tmp_path)


@pytest.mark.skipif(not go_db_available(), reason="GO SQLite files not installed (scripts/install-go-db.sh)")
def test_real_go_bp():
    sets = go_bp()
    genes = dict(zip(sets.term_ids, sets.genes, strict=True))
    assert len(sets) > 10_000
    assert {"CD3E", "CD28", "LCK"} <= set(genes["GO:0042110"])  # T cell activation
    assert set(genes["GO:0042110"]) <= set(genes["GO:0046649"])  # within lymphocyte activation
    assert "GO:0046649" in sets.parents["GO:0042110"]
    assert ensembl_to_symbol()["ENSG00000198851"] == "CD3E"


def _script_env(tmp_path, with_apt):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tools = ["dirname", "find", "mkdir", "mktemp", "rm", "chmod", "mv", "id", "bash"]
    for tool in tools + (["apt-get", "dpkg-deb", "apt-cache"] if with_apt else []):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), bin_dir / tool)
    return {"PATH": str(bin_dir), "SCCONCEPTS_GO_DB": str(tmp_path / "cache")}


def test_install_script_warns_and_succeeds_without_apt(tmp_path):
    run = subprocess.run(["bash", str(REPO / "scripts/install-go-db.sh")], env=_script_env(tmp_path, False),
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    assert run.returncode == 0
    assert "warning" in run.stderr and "apt-get" in run.stderr


def test_install_script_returns_at_once_when_files_exist(tiny_db, tmp_path):
    env = _script_env(tmp_path, True)
    shutil.copytree(tiny_db, env["SCCONCEPTS_GO_DB"], ignore=shutil.ignore_patterns("bin", "cache"))
    run = subprocess.run(["bash", str(REPO / "scripts/install-go-db.sh")], env=env, capture_output=True, text=True,
                         timeout=30)  # fmt: skip
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
