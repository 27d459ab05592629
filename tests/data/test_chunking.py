import json

import pytest

from tessera._data.chunking import chunk_paths, split_text
from tessera._errors import InputError


def test_paragraphs_are_packed_up_to_the_limit():
    text = "\n\n".join(["a" * 40, "b" * 40, "c" * 40])
    assert split_text(text, max_chars=90) == ["a" * 40 + "\n\n" + "b" * 40, "c" * 40]


def test_long_paragraph_is_split_on_sentences_and_nothing_is_lost():
    text = " ".join(f"Sentence number {i} ends here." for i in range(50))
    pieces = split_text(text, max_chars=100)
    assert all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == text


def test_a_word_longer_than_the_limit_is_cut_hard():
    pieces = split_text("x" * 250, max_chars=100)
    assert pieces == ["x" * 100, "x" * 100, "x" * 50]


def test_jsonl_gives_one_chunk_per_record(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "id": i}) for i, t in enumerate("abc")) + "\n")
    chunks = chunk_paths([path])
    assert [c.text for c in chunks] == ["a", "b", "c"]
    assert chunks[1].source.endswith("data.jsonl:2")


def test_folders_are_walked_in_order_skipping_hidden_and_other_files(tmp_path):
    (tmp_path / "b.md").write_text("bee")
    (tmp_path / "a.txt").write_text("ay")
    (tmp_path / "img.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("hidden")
    assert [c.text for c in chunk_paths([tmp_path])] == ["ay", "bee"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"  \n\n ", "only whitespace"),
        ("bin.txt", b"abc\x00def", "looks binary"),
        ("latin.txt", b"caf\xe9\nline", r"not valid UTF-8 \(byte 3, line 1\)"),
        ("pic.png", b"\x89PNG", "only .txt, .md, .jsonl"),
        ("bad.jsonl", b'{"text": "ok"}\n{oops\n', r"bad.jsonl:2 is not valid JSON"),
        (
            "notext.jsonl",
            b'{"body": "x"}\n',
            r"notext.jsonl:1 has no non-empty string field 'text'",
        ),
    ],
)
def test_bad_files_get_one_clear_sentence(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        chunk_paths([path])


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("tessera._data.chunking.MAX_FILE_BYTES", 10)
    path = tmp_path / "big.txt"
    path.write_text("x" * 11)
    with pytest.raises(InputError, match="over the 10-byte limit"):
        chunk_paths([path])


def test_missing_path_and_empty_folder_are_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        chunk_paths([tmp_path / "nope.txt"])
    with pytest.raises(InputError, match="holds no"):
        chunk_paths([tmp_path])
