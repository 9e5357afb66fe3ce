import numpy as np
import pandas as pd

from scconcepts.genesets import EnrichOptions, GeneSets, collapse, compare_rankings, enrich_scores, jaccard


def test_multilevel_gsea_finds_planted_set_with_leading_edge():
    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(600)]
    sets = {f"S{j}": list(rng.choice(genes[40:], 25, replace=False)) for j in range(30)}
    sets["planted"] = genes[:30]
    y = rng.normal(size=(2, 600))
    y[0, :20] += 3.0
    opts = EnrichOptions(method="gsea", min_size=15, max_padj=1.0)
    table = enrich_scores(y, GeneSets.from_dict("toy", sets), gene_keys=genes, gene_names=genes, concepts=[3, 4],
                          opts=opts)  # fmt: skip
    row = table[(table.concept == 3) & (table.term_id == "planted")].iloc[0]
    assert row.padj < 0.05 and row.score > 0
    lead = set(row.genes.split(";"))
    assert lead and lead <= set(genes[:30])
    assert (table[table.concept == 4].padj > 0.05).all()


def test_collapse_groups_overlapping_sets():
    rows = [np.arange(0, 20), np.arange(2, 22), np.arange(50, 70), np.arange(0, 10)]
    assert jaccard(rows[0], rows[1]) == 18 / 22
    assert collapse([0, 1, 2, 3], rows, threshold=0.7) == {0: 0, 1: 0, 2: 2, 3: 3}


def test_compare_rankings_splits_terms_per_concept():
    table = pd.DataFrame(
        {
            "concept": [0, 0, 0, 0, 1],
            "ranking": ["attribution", "attribution", "de", "de", "de"],
            "source": ["go", "go", "go", "go", "go"],
            "term_id": ["a", "b", "a", "c", "d"],
            "padj": [0.01, 0.01, 0.02, 0.03, 0.2],
            "elim": [True, False, True, True, False],
        }
    )
    out = compare_rankings(table, alpha=0.05)
    assert out["per_concept"][0] == {"both": ["go:a"], "attribution_only": ["go:b"], "de_only": ["go:c"]}
    assert out["per_concept"][1] == {"both": [], "attribution_only": [], "de_only": []}
    assert out["totals"] == {"both": 1, "attribution_only": 1, "de_only": 1, "concepts": 2}
    assert compare_rankings(table, elim=True)["totals"]["attribution_only"] == 0
