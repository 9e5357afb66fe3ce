"""The report of a ``run --tokens`` folder: says it is a token run (model, layer, tokens) and lists each concept's
gene tokens beside its attributed genes; a run on the cell embedding shows none of it."""

import anndata as ad
import numpy as np
from tests._token_run import copy_token_run

from scconcepts.models._token_store import open_store
from scconcepts.report import write_report

XSS = '<img src=x onerror="window.__xss=1">'


def test_token_run_report_names_layer_tokens_and_gene_tokens(token_run, tmp_path):
    adata = ad.read_h5ad(token_run / "results.h5ad", backed="r")
    per_gene = np.nan_to_num(np.asarray(adata.varm["concepts_token_genes"]), nan=-np.inf)
    top = str(adata.var_names[int(np.argmax(per_gene[:, 0]))])
    second = str(adata.var_names[int(np.argsort(-per_gene[:, 0], kind="stable")[1])])
    adata.file.close()
    folder = copy_token_run(token_run, tmp_path / "results", rename={top: XSS})
    html = write_report(folder).read_text(encoding="utf-8")
    n_tokens = open_store(folder / "tokens").n_tokens
    assert "<b>Token run</b>" in html and "<b>layer_1</b>" in html and f"{n_tokens} tokens" in html
    card = html[html.index('<span id="c0">') : html.index('<span id="c1">')]
    assert "<h4>Gene tokens (layer_1)</h4>" in card and "Attributed genes (counterfactual)" in card
    tokens = card[card.index("token-genes") :]
    assert tokens.index("&lt;img src=x") < tokens.index(f"<td>{second}</td>")  # best first, escaped
    assert XSS not in html


def test_cell_run_report_says_nothing_of_tokens(tmp_path):
    from benchmarks._synthetic import make_synthetic_results

    folder = make_synthetic_results(tmp_path / "results", n_cells=200, n_concepts=6, with_sae=False)
    html = write_report(folder).read_text(encoding="utf-8")
    assert "Token run" not in html and "Gene tokens" not in html and "<h4>Attributed genes</h4>" in html
