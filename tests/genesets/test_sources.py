import pandas as pd
import pytest

from scconcepts._errors import InputError
from scconcepts.genesets import (
    BUNDLED,
    GeneSets,
    bundled_libraries,
    bundled_library,
    harmonise_genes,
    load_source,
    normalise_id,
)


def test_bundled_libraries_load_offline():
    assert set(BUNDLED) <= set(bundled_libraries())
    go = bundled_library("GO_Biological_Process_2023")
    assert len(go) > 5000 and all(t.startswith("GO:") for t in go.term_ids[:50])
    assert go.name_of("GO:0042110") == "T Cell Activation"
    kegg = bundled_library("KEGG_2021_Human")
    assert "Hematopoietic cell lineage" in kegg.term_ids and "CD3E" in kegg.to_dict()["Hematopoietic cell lineage"]


def test_load_source_by_name_path_and_object(tmp_path):
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("set\t\tA\tB\n")
    assert load_source(str(gmt)).source == "mine"
    sets = GeneSets.from_dict("x", {"t": ["A"]})
    assert load_source(sets) is sets
    assert load_source("KEGG_2021_Human").source == "KEGG_2021_Human"
    with pytest.raises(InputError, match="unknown gene-set source"):
        load_source("no_such_library")


def test_auto_falls_back_to_the_bundled_go_library(tmp_path):
    assert load_source("auto", go_db=tmp_path).source == "GO_Biological_Process_2023"


def test_normalise_id_handles_case_and_ensembl_versions():
    assert normalise_id(" cd3e ") == "CD3E"
    assert normalise_id("ENSG00000198851.9") == "ENSG00000198851"
    assert normalise_id("Cd3e") == "CD3E"


def test_harmonise_picks_the_identifier_column_that_matches():
    members = {"CD3E", "LCK", "CD2", "MS4A1"}
    var = pd.DataFrame({"gene_symbols": ["cd3e", "Lck", "XYZ"]}, index=["ENSG00000198851.9", "ENSG1", "ENSG2"])
    assert harmonise_genes(list(var.index), members, var=var) == ["CD3E", "LCK", "XYZ"]
    ensembl_sets = {"ENSG00000198851"}
    assert harmonise_genes(list(var.index), ensembl_sets, var=var)[0] == "ENSG00000198851"
    table = {"ENSG00000198851": "CD3E", "ENSG00000182866": "LCK"}
    keys = harmonise_genes(["ENSG00000198851.3", "ENSG00000182866"], members, ensembl_to_symbol=lambda: table)
    assert keys == ["CD3E", "LCK"]
    with pytest.raises(InputError, match="0% of the data's genes"):
        harmonise_genes(["FOO", "BAR"], members)
    with pytest.raises(InputError, match=r"not in adata\.var"):
        harmonise_genes(["FOO"], members, var=pd.DataFrame(index=["FOO"]), gene_symbols="symbol")


def test_membership_counts_only_background_genes_and_filters_sizes():
    sets = GeneSets.from_dict("s", {"big": [f"G{i}" for i in range(30)], "small": ["G1", "G2", "g3", "H"]})
    membership, kept = sets.membership(["G1", "G2", "G3", "G4"], min_size=3, max_size=3)
    assert kept.tolist() == [1] and membership.sum() == 3  # 'small' has 3 genes inside the background
    membership, kept = sets.membership(["G1", "G2", "G3", "G4"], min_size=1, max_size=10)
    assert kept.tolist() == [0, 1]
    with pytest.raises(InputError):
        sets.membership(["G1"], min_size=5, max_size=2)
