import html
import json
import socket

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from scconcepts._errors import InputError
from scconcepts.cli import main
from scconcepts.results import RESULTS_H5AD, new_results_folder, read_results
from scconcepts.tl._enrich import enrich, enrichment_summary, enrichment_table

READ = [f"G{i}" for i in range(400)]
UNREAD = [f"U{i}" for i in range(60)]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access is blocked in the enrichment tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def gmt(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["planted\t\t" + "\t".join(READ[:30] + UNREAD[:40])]
    lines += [f"random{j}\t\t" + "\t".join(rng.choice(READ + UNREAD, 40, replace=False)) for j in range(40)]
    path = tmp_path / "toy.gmt"
    path.write_text("\n".join(lines) + "\n")
    return path


def make_adata(seed=0):
    """Concept 0 driven by the planted set's read genes, 1 noise, 2 dead; unread genes score 0 as attribution writes."""
    rng = np.random.default_rng(seed)
    n_read, n = len(READ), len(READ) + len(UNREAD)
    score = np.zeros((n, 3), dtype=np.float32)
    score[:n_read, :2] = rng.normal(scale=0.2, size=(n_read, 2))
    score[:30, 0] += 1.0
    padj = np.ones((n, 3))
    padj[:n_read, :2] = np.where(np.abs(score[:n_read, :2]) > 0.6, 0.001, 0.9)
    ncells = np.zeros((n, 3), dtype=np.int32)
    ncells[:n_read, :2] = 10
    de = score + rng.normal(scale=0.1, size=score.shape).astype(np.float32)
    de[n_read:] = 0
    adata = ad.AnnData(np.zeros((90, n), dtype=np.float32), var=pd.DataFrame(index=READ + UNREAD))
    adata.varm["concepts_attribution"] = score
    adata.varm["concepts_attribution_padj"] = padj
    adata.varm["concepts_attribution_ncells"] = ncells
    adata.varm["concepts_de"] = de
    adata.obs["cell_type"] = ["T"] * 40 + ["B"] * 30 + ["NK"] * 20
    acts = np.zeros((90, 3), dtype=np.float32)
    acts[:40, 0] = 1.0
    acts[35:70, 1] = 1.0
    adata.obsm["X_concepts"] = sparse.csr_matrix(acts)
    return adata


def test_enrich_finds_the_planted_set_over_the_genes_the_model_read(gmt):
    adata = make_adata()
    enrich(adata, sources=[gmt])
    table = enrichment_table(adata)
    assert set(table.columns) >= {"concept", "source", "term", "term_id", "score", "pval", "padj", "method", "elim"}
    hit = table[(table.concept == 0) & (table.term_id == "planted") & (table.ranking == "attribution")].iloc[0]
    assert hit.padj < 0.05 and hit.score > 0 and hit["size"] == 30  # the 40 unread members do not count
    assert set(hit.genes.split(";")) <= set(READ[:30])
    assert not ((table.concept == 1) & (table.padj < 0.05)).any()
    assert 2 not in set(table.concept)  # dead concept not enriched
    assert adata.uns["concepts"]["enrichment_params"]["n_background"] == len(READ)
    assert set(table.ranking) == {"attribution", "de"}
    summary = enrichment_summary(adata)
    assert summary["concepts_with_term"]["toy"] == 0.5
    assert summary["attribution_vs_de"]["per_concept"][0]["both"] == ["toy:planted"]


def test_explicit_background_and_model_genes(gmt):
    adata = make_adata()
    adata.uns["concepts_attribution"] = {"model_genes": np.array(READ[:200])}
    enrich(adata, sources=[gmt], rankings=["attribution"], min_size=5, max_padj=1.0)
    assert adata.uns["concepts"]["enrichment_params"]["n_background"] == 200
    enrich(adata, sources=[gmt], rankings=["attribution"], background=READ[10:200], min_size=5, max_padj=1.0)
    table = enrichment_table(adata)
    assert table.loc[(table.concept == 0) & (table.term_id == "planted"), "size"].item() == 20


def test_ora_uses_each_concepts_significant_genes(gmt):
    adata = make_adata()
    enrich(adata, sources=[gmt], method="ora", rankings=["attribution"])
    table = enrichment_table(adata)
    hit = table[(table.concept == 0) & (table.term_id == "planted")].iloc[0]
    assert hit.method == "ora" and hit.padj < 0.05 and hit.score > 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "magic"}, "unknown enrichment method"),
        ({"concepts": [7]}, "not in"),
        ({"rankings": ["expression"]}, "unknown ranking"),
        ({"direction": "up"}, "direction"),
        ({"sources": ["no_such_source"]}, "unknown gene-set source"),
    ],
)
def test_bad_options_raise_input_error(gmt, options, message):
    with pytest.raises(InputError, match=message):
        enrich(make_adata(), **({"sources": [gmt]} | options))


def test_missing_attribution_is_an_input_error():
    with pytest.raises(InputError, match="attribute"):
        enrich(ad.AnnData(np.zeros((2, 3))))


def test_enrich_command_updates_the_results_folder(gmt, tmp_path, capsys):
    out = tmp_path / "results"
    with new_results_folder(out) as folder:
        make_adata().write_h5ad(folder / RESULTS_H5AD)
        (folder / "metrics.json").write_text(json.dumps({"r2": 0.9}))
    assert main(["enrich", str(out), "--source", str(gmt)]) == 0
    assert "enrichment.csv" in capsys.readouterr().out
    csv = pd.read_csv(out / "enrichment.csv")
    assert ((csv.concept == 0) & (csv.term_id == "planted") & (csv.padj < 0.05)).any()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["r2"] == 0.9 and metrics["enrichment"]["concepts_with_term"]["toy"] == 0.5
    assert metrics["enrichment"]["attribution_vs_de"]["totals"]["both"] >= 1
    labels = read_results(out).uns["concepts"]["table"]["label"]
    assert labels["0"].startswith("T: planted (G")
    concepts = pd.read_csv(out / "concepts.csv", index_col=0, keep_default_na=False)  # the same table, rewritten
    assert concepts.loc[0, "label"] == labels["0"] and concepts.loc[0, "top_term"] == "planted"
    assert set(json.loads((out / "scconcepts.json").read_text())["files"]) >= {"enrichment.csv", "concepts.csv"}
    assert main(["enrich", str(tmp_path / "nowhere")]) == 2


def test_the_coverage_figure_is_the_same_in_the_log_info_metrics_and_report(gmt, tmp_path, capsys, caplog):
    from scconcepts.report import write_report

    out = tmp_path / "results"
    adata = make_adata()
    adata.obsm["X_umap"] = np.random.default_rng(0).normal(size=(adata.n_obs, 2))
    with new_results_folder(out) as folder:
        adata.write_h5ad(folder / RESULTS_H5AD)
    with caplog.at_level("INFO", logger="scconcepts.tl._enrich"):
        assert main(["enrich", str(out), "--source", str(gmt)]) == 0
    figure = "1 of 2 concepts (50%) have a term (enriched in the attribution ranking, FDR < 0.05, kept by elim)"
    assert figure in caplog.text
    assert figure in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["enrichment"]["terms"]["n_with_term"] == 1
    assert main(["info", str(out)]) == 0
    assert f"terms: {figure}" in capsys.readouterr().out
    assert figure in html.unescape(write_report(out).read_text())
    table = read_results(out).uns["concepts"]["table"]
    assert "no term" in table.loc["1", "label"] and table.loc["1", "n_terms"] == 0  # label agrees


def symbol_gmt(tmp_path, names):
    path = tmp_path / "symbols.gmt"
    path.write_text("planted\t\t" + "\t".join(names[:30]) + "\nother\t\t" + "\t".join(names[100:140]) + "\n")
    return path


def test_enrich_cli_takes_gene_symbols_and_species(tmp_path, capsys, caplog):
    human = [f"SYM{i}" for i in range(len(READ) + len(UNREAD))]
    gmt = symbol_gmt(tmp_path, human)
    adata = make_adata()
    adata.var["gene_symbols"] = human
    adata.var_names = [f"gene{i}" for i in range(adata.n_vars)]  # placeholders: no match without the column
    out = tmp_path / "placeholders"
    with new_results_folder(out) as folder:
        adata.write_h5ad(folder / RESULTS_H5AD)
    assert main(["enrich", str(out), "--source", str(gmt), "--gene-symbols", "nope"]) == 2
    assert "not in adata.var" in capsys.readouterr().err
    assert main(["enrich", str(out), "--source", str(gmt), "--gene-symbols", "gene_symbols"]) == 0
    assert "1 of 2 concepts" in capsys.readouterr().out

    mouse = make_adata()
    mouse.var_names = [f"Sym{i}" for i in range(mouse.n_vars)]  # mouse-style case of the same symbols
    out = tmp_path / "mouse"
    with new_results_folder(out) as folder:
        mouse.write_h5ad(folder / RESULTS_H5AD)
    with caplog.at_level("INFO", logger="scconcepts"):
        assert main(["enrich", str(out), "--source", str(gmt)]) == 0  # mouse symbols: no flag needed
    assert "1 of 2 concepts" in capsys.readouterr().out
    detected = [r.getMessage() for r in caplog.records if "look like mouse" in r.getMessage()]
    assert len(detected) == 1 and "Sym0" in detected[0] and "--species human" in detected[0]
    assert read_results(out).uns["concepts"]["enrichment_params"]["species"] == "mouse"
    assert main(["enrich", str(out), "--source", str(gmt), "--species", "human"]) == 2  # the override
    assert "--species mouse" in capsys.readouterr().err
    assert main(["enrich", str(out), "--source", str(gmt), "--species", "mouse"]) == 0
    assert read_results(out).uns["concepts"]["enrichment_params"]["species"] == "mouse"
