"""Mouse-style gene symbols are taken as mouse without a flag; everything else stays human; a given species wins."""

import logging

import pandas as pd

from scconcepts.genesets._species import looks_mouse, resolve_species

HUMAN = ["CD3E", "ACTB", "C1orf112", "MT-CO1", "RP11-34P13.7", "LINC00115", "HLA-DRA", "AL627309.1"]
MOUSE = ["Cd3e", "Actb", "Cd79a", "mt-Co1", "1700001C19Rik", "Gm12345", "H2-K1", "Lyz2"]


def test_mouse_symbols_are_told_from_human_ones():
    assert looks_mouse(MOUSE)
    assert not looks_mouse(HUMAN)
    assert not looks_mouse(["ENSG00000141510", "ENSMUSG00000020122.3", "ENSG00000111640"])
    assert not looks_mouse([f"gene{i}" for i in range(10)] + ["1", "2"])
    assert not looks_mouse([])


def test_detection_logs_one_line_and_a_given_species_wins(caplog):
    with caplog.at_level(logging.INFO, logger="scconcepts"):
        assert resolve_species("auto", MOUSE) == "mouse"
        assert resolve_species(None, HUMAN) == "human"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "look like mouse" in lines[0] and "--species human" in lines[0]
    assert resolve_species("human", MOUSE) == "human" and resolve_species("Mouse", HUMAN) == "mouse"


def test_symbols_in_a_var_column_count_too():
    ids = [f"ENSMUSG{i:011d}" for i in range(len(MOUSE))]
    var = pd.DataFrame({"gene_symbols": MOUSE, "other": HUMAN}, index=ids)
    assert resolve_species("auto", ids, var=var) == "mouse"
    assert resolve_species("auto", ids, var=var, gene_symbols="other") == "human"  # only the named column
    assert resolve_species("auto", ids, var=var[["other"]]) == "human"
