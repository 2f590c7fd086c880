"""Names in and of the download-all zip (app/domain/zip_names.py)."""

from __future__ import annotations

from app.domain.zip_names import cut_to_bytes, entry_names, fit_name, split_extension, zip_file_name


def test_duplicates_get_a_counter_before_the_extension_without_regard_to_case():
    assert entry_names(["brev.pdf", "Brev.PDF", "brev.pdf", "notat", "notat"]) == [
        "brev.pdf",
        "Brev (1).PDF",
        "brev (2).pdf",
        "notat",
        "notat (1)",
    ]


def test_a_counter_never_collides_with_a_given_name():
    assert entry_names(["a (1).txt", "a.txt", "a.txt"]) == ["a (1).txt", "a.txt", "a (2).txt"]


def test_long_names_are_cut_to_255_bytes_keeping_the_extension():
    long = "æ" * 200 + ".pdf"  # 404 bytes
    [cut] = entry_names([long])
    assert len(cut.encode()) <= 255 and cut.endswith(".pdf") and cut.startswith("æ")
    assert len(cut.encode()) == 254  # never half a character: 125 × 2 bytes + 4
    first, second = entry_names([long, long])
    assert second.endswith(" (1).pdf") and len(second.encode()) <= 255
    assert first != second


def test_an_extension_that_alone_is_too_long_cuts_the_whole_name():
    name = "a." + "x" * 300
    assert len(fit_name(name).encode()) == 255
    assert len(fit_name(name, " (1)").encode()) == 255 and fit_name(name, " (1)").endswith(" (1)")


def test_split_extension_and_cut():
    assert split_extension("a.tar.gz") == ("a.tar", ".gz")
    assert split_extension(".profile") == (".profile", "")
    assert split_extension("name.") == ("name.", "")
    assert cut_to_bytes("blåbær", 3) == "bl"
    assert cut_to_bytes("abc", 0) == ""


def test_zip_file_name_from_the_title():
    assert zip_file_name("  Min   melding: skatt 2026! ") == "min-melding-skatt-2026.zip"
    assert zip_file_name("Ærlig talt") == "rlig-talt.zip"
    assert zip_file_name("!!!") == "correspondence-attachments.zip"
    assert zip_file_name("Con") == "correspondence-attachments-con.zip"
    assert zip_file_name("x" * 99 + " y" * 10) == "x" * 99 + ".zip"
