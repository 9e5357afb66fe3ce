"""The report is rewritten inside the commit that changes the results it shows."""

from benchmarks._synthetic import make_synthetic_results

from scconcepts.report import REPORT_HTML, refresh_report, write_report
from scconcepts.results import RESULTS_H5AD, read_results, update_results_folder


def test_a_staged_change_is_shown_by_the_report_committed_with_it(tmp_path):
    folder = make_synthetic_results(tmp_path / "results", n_cells=200, n_genes=60, labels={0: "old label"})
    write_report(folder, max_concepts=1)
    assert "old label" in (folder / REPORT_HTML).read_text()
    with update_results_folder(folder) as staging:
        adata = read_results(folder)
        table = adata.uns["concepts"]["table"]
        table.loc[table.index[0], "label"] = "new label"
        adata.write_h5ad(staging / RESULTS_H5AD)
        refresh_report(folder, staging)
        assert "old label" in (folder / REPORT_HTML).read_text()  # nothing changes before the commit
    text = (folder / REPORT_HTML).read_text()
    assert "new label" in text and "old label" not in text
    assert "<h1>scconcepts report: results</h1>" in text  # titled by the folder, not the staging folder
