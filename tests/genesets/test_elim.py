import numpy as np
import pytest

from scconcepts._errors import InputError
from scconcepts.genesets import EnrichOptions, GeneSets, enrich_scores, kept_ancestors, term_depths

N = 300
GENES = [f"G{i}" for i in range(N)]


def dag_sets():
    """root R > parent P > child C; R > S (no signal); R > Q > D where Q has signal of its own."""
    members = {
        "R": range(0, 200),
        "P": [*range(0, 20), *range(60, 100)],
        "C": range(0, 20),
        "S": range(100, 130),
        "Q": range(150, 190),
        "D": range(150, 165),
    }
    parents = {"P": ("R",), "C": ("P",), "S": ("R",), "Q": ("R",), "D": ("Q",)}
    return GeneSets(
        source="toy_go",
        term_ids=tuple(members),
        names=tuple(f"term {t}" for t in members),
        genes=tuple(tuple(GENES[i] for i in rows) for rows in members.values()),
        parents=parents,
    )


def scores(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(scale=0.5, size=(1, N))
    y[0, 0:20] += 2.0  # the child's genes
    y[0, 150:190] += 1.5  # Q's genes, its child D included
    return y


def run(method="ulm", **kw):
    y = scores()
    selected = y > 1.0 if method == "ora" else None
    opts = EnrichOptions(method=method, min_size=10, max_padj=1.0, **kw)
    table = enrich_scores(y, dag_sets(), gene_keys=GENES, gene_names=GENES, concepts=[0], opts=opts, selected=selected)
    return table.set_index("term_id")


@pytest.mark.parametrize("method", ["ulm", "ora"])
def test_elim_drops_a_parent_significant_only_through_its_child(method):
    table = run(method)
    assert table.loc["P", "padj"] < 0.05  # the raw list reports the parent...
    assert not table.loc["P", "elim"]  # ...elim does not: its signal is the child's
    assert table.loc["P", "pval_elim"] > 0.01
    assert table.loc["C", "elim"] and table.loc["C", "pval_elim"] == table.loc["C", "pval"]
    assert table.loc["Q", "elim"]  # genes beyond its child carry signal: kept
    assert table.loc["D", "elim"]
    assert not table.loc["S", "elim"]
    assert not table.loc["R", "elim"]


def test_without_elim_every_significant_term_is_kept():
    table = run(elim=False)
    assert table.loc["P", "elim"] and np.isnan(table.loc["P", "pval_elim"])


def test_near_duplicates_point_to_the_better_term():
    table = run(collapse=0.3)  # P shares 20 of 60 genes with C: Jaccard 0.33
    assert table.loc["P", "duplicate_of"] == "C"
    assert table.loc["C", "duplicate_of"] == ""


def test_ancestors_cross_terms_dropped_by_the_size_filter():
    parents = {"C": ("P",), "P": ("R",), "X": ("P", "R")}
    ancestors = kept_ancestors(parents, ["C", "R", "X"])
    assert ancestors[0].tolist() == [1] and ancestors[1].tolist() == [] and ancestors[2].tolist() == [1]
    assert term_depths(parents, ["C", "R", "X"]).tolist() == [2, 0, 2]


def test_cycle_is_an_input_error():
    with pytest.raises(InputError, match="cycle"):
        kept_ancestors({"A": ("B",), "B": ("A",)}, ["A"])
