"""ulm on heavy-tailed scores: without the rank transform random rankings find terms; with it they do not."""

import numpy as np

from scconcepts.genesets import EnrichOptions, GeneSets, enrich_scores
from scconcepts.stats import normal_scores

N_GENES, N_SETS, N_CONCEPTS = 1500, 150, 60


def setup(seed=0):
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(N_GENES)]
    sets = GeneSets.from_dict("toy", {f"S{j}": list(rng.choice(genes, rng.integers(15, 80), replace=False))
                                      for j in range(N_SETS)})  # fmt: skip
    scores = rng.standard_t(1.2, size=(N_CONCEPTS, N_GENES))  # heavy tails, no structure
    return genes, sets, scores


def share_with_term(scores, genes, sets, transform):
    opts = EnrichOptions(method="ulm", transform=transform, elim=False, collapse=1.0)
    table = enrich_scores(scores, sets, gene_keys=genes, gene_names=genes, concepts=range(len(scores)), opts=opts)
    hits = table[(table.padj < 0.05) & (table.score > 0)]
    return hits.concept.nunique() / len(scores), hits


def test_random_heavy_tailed_rankings_find_no_terms_after_the_rank_transform():
    genes, sets, scores = setup()
    raw, _ = share_with_term(scores, genes, sets, "none")
    ranked, _ = share_with_term(scores, genes, sets, "rank")
    assert raw > 0.3  # the uncalibrated statistic: one extreme gene carries its sets
    assert ranked <= 0.1  # BH per concept at 0.05: about 5% of null concepts have any hit


def test_a_planted_set_is_still_found_after_the_rank_transform():
    genes, sets, scores = setup(1)
    planted = [genes.index(g) for g in sets.genes[0]]
    scores[0, planted] += 2.0  # the set's genes rank high in concept 0, none is extreme
    _, hits = share_with_term(scores, genes, sets, "rank")
    assert "S0" in set(hits.loc[hits.concept == 0, "term_id"])


def test_normal_scores_keep_order_and_nans():
    values = np.array([[3.0, -1.0, np.nan, 1000.0, 0.0]])
    out = normal_scores(values)
    assert np.isnan(out[0, 2]) and list(np.argsort(out[0, [0, 1, 3, 4]])) == [1, 3, 0, 2]
    assert abs(out[0, 3]) < 1.2  # the extreme value is now an ordinary top rank
