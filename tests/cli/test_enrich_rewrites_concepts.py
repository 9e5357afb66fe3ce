"""``scconcepts enrich DIR`` after a run without enrichment rewrites every file that shows the concept table."""

import pandas as pd

from scconcepts.cli import main
from scconcepts.results import CONCEPTS_CSV, read_results, write_concepts_csv

RUN = ["--max-epochs", "3", "--k", "4", "--expansion", "2", "--epochs", "30", "--seeds", "1"]


def test_enrich_after_a_skipped_enrichment_rewrites_concepts_csv(pbmc_counts, write_h5ad, tmp_path):
    path = write_h5ad(pbmc_counts[:300].copy())
    out = tmp_path / "results"
    assert main(["run", "--input", str(path), *RUN, "--no-enrichment", "--out", str(out)]) == 0
    before = pd.read_csv(out / CONCEPTS_CSV, index_col=0)
    assert "top_term" not in before.columns and "top_genes" not in before.columns
    report = (out / "report.html").read_text()

    assert main(["enrich", str(out)]) == 0
    table = read_results(out).uns["concepts"]["table"]
    after = pd.read_csv(out / CONCEPTS_CSV, index_col=0, keep_default_na=False)
    assert {"label", "top_term", "top_genes", "cell_types"} <= set(after.columns)
    assert list(after.index.astype(str)) == list(table.index)
    assert list(after["label"]) == list(table["label"])  # the labels results.h5ad holds
    assert list(after["top_term"]) == list(table["top_term"]) and list(after["top_genes"]) == list(table["top_genes"])
    assert (after["top_genes"] != "").any()
    # the very bytes `run` writes from that table (one function writes concepts.csv for every command)
    write_concepts_csv(read_results(out), tmp_path)
    assert (out / CONCEPTS_CSV).read_text() == (tmp_path / CONCEPTS_CSV).read_text()
    assert (out / "report.html").read_text() != report  # the report was rewritten in the same commit
    assert str(table["label"].iloc[0]) in (out / "report.html").read_text()
