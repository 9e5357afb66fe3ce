import pandas as pd
import pytest

from scconcepts._errors import InputError
from scconcepts.genesets import GeneSets, harmonise_genes, looks_like, match_genes

HUMAN = ["CD3E", "CD3D", "CD79A", "CD79B", "MS4A1", "LCK", "NKG7", "GNLY", "PRF1", "LYZ", "CD14", "S100A8", "S100A9",
         "FCN1", "CCR7", "SELL", "IL7R", "CD8A", "CD8B", "FOXP3", "CTLA4", "IL2RA", "TCF7", "LEF1", "KLRD1", "GZMB",
         "GZMA", "CST3", "FCGR3A", "HLA-DRA", "C1orf112", "MT-ND1"]  # fmt: skip
SETS = GeneSets.from_dict("human_sets", {"A": HUMAN[:20], "B": HUMAN[12:]})


def test_human_symbols_match():
    match = match_genes(HUMAN, SETS)
    assert match.usable and match.rate == 1.0 and not match.case_folded and match.kind == "symbols"
    assert "matched 32 of 32 genes (100%) via var_names" in match.summary()


def test_placeholder_names_are_refused_with_the_match_rate_and_what_to_pass():
    names = [f"gene{i}" for i in range(2000)]
    match = match_genes(names, SETS)
    assert not match.usable and match.rate == 0 and match.kind == "placeholder names"
    assert "0% of the data's genes (0 of 2000)" in match.reason and "--gene-symbols" in match.reason
    with pytest.raises(InputError, match="--gene-symbols"):
        harmonise_genes(names, SETS)
    # a var column holding the symbols makes them usable
    var = pd.DataFrame({"symbol": HUMAN}, index=[f"gene{i}" for i in range(32)])
    assert match_genes(list(var.index), SETS, var=var, gene_symbols="symbol").usable
    assert match_genes(list(var.index), SETS, var=var.rename(columns={"symbol": "gene_symbols"})).usable  # found
    with pytest.raises(InputError, match=r"not in adata\.var"):
        match_genes(list(var.index), SETS, var=var, gene_symbols="nope")


def test_mouse_symbols_need_species_mouse_and_are_said_to_be_an_orthology_approximation():
    mouse = [g[0] + g[1:].lower() for g in HUMAN]  # Cd3e, Cd79a, Mt-nd1...
    assert looks_like(mouse) == "mouse-style symbols"
    refused = match_genes(mouse, SETS)
    assert refused.rate == 1.0 and refused.case_folded and not refused.usable
    assert "--species mouse" in refused.reason
    accepted = match_genes(mouse, SETS, species="Mouse")
    assert accepted.usable and accepted.keys[:2] == ["CD3E", "CD3D"]
    assert "case-insensitive symbol (an approximation of orthology)" in accepted.summary()
    with pytest.raises(InputError, match="species"):
        match_genes(mouse, SETS, species="zebrafish")


def test_gene_sets_in_the_datas_own_case_need_no_species():
    mouse = ["Cd3e", "Lck", "Cd79a"] * 10
    own = GeneSets.from_dict("mouse_sets", {"A": ["Cd3e", "Lck", "Cd79a"]})
    assert match_genes(mouse, own).usable
