import pytest

from scconcepts._errors import InputError
from scconcepts.genesets import read_gmt, split_term


def write(tmp_path, text, name="sets.gmt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_gmt_parses_names_ids_and_weighted_genes(tmp_path):
    path = write(
        tmp_path,
        "T cell activation (GO:0042110)\t\tCD3E\tCD2,1.0\tLCK\n# a comment\n\nMy set\tsome description\tA\tB\tA\n",
    )
    sets = read_gmt(path)
    assert sets.source == "sets"
    assert sets.term_ids == ("GO:0042110", "My set")
    assert sets.names == ("T cell activation", "My set")
    assert sets.genes == (("CD3E", "CD2", "LCK"), ("A", "B"))
    assert not sets.has_dag


def test_split_term_without_identifier_keeps_label():
    assert split_term("Hematopoietic cell lineage") == ("Hematopoietic cell lineage", "Hematopoietic cell lineage")
    assert split_term("mitotic spindle (GO:0000001)") == ("GO:0000001", "mitotic spindle")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("only_name\n", "at least one gene"),
        ("name\tdesc\t\t\n", "at least one gene"),
        ("set\tdesc\tA\nset\tdesc\tB\n", "appears twice"),
        ("\n# nothing\n", "no gene set"),
        ("\tdesc\tA\n", "at least one gene"),
    ],
)
def test_bad_gmt_raises_input_error(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_gmt(write(tmp_path, text))


def test_missing_and_binary_gmt_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_gmt(tmp_path / "absent.gmt")
    path = tmp_path / "binary.gmt"
    path.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InputError, match="not a text GMT"):
        read_gmt(path)
