"""File names of exported jobs: safe on every file system, unique even ignoring case."""

from __future__ import annotations

from labelyard.exports.names import MAX_STEM, SAFE, FileNames

JOB = "0b6c9f7e-2a1d-4c0e-9b7a-3f1e2d4c5b6a"
OTHER = "1c7d0a8f-3b2e-4d1f-8c8b-4a2f3e5d6c7b"


def test_safe_reference_ids_are_kept_and_others_made_safe() -> None:
    names = FileNames()
    assert names.name("IMG_0001.v2-final", JOB) == "IMG_0001.v2-final"
    assert names.name("dir/../sub dir/ä.jpg", JOB) == "dir_.._sub_dir_.jpg"
    assert names.name("..hidden", JOB) == "hidden"
    assert names.name("///", JOB) == "_"
    assert names.name("", OTHER) == "job"
    assert len(names.name("x" * 255, JOB)) == MAX_STEM


def test_a_name_given_before_gets_the_job_id_even_if_only_the_case_differs() -> None:
    names = FileNames()
    assert names.name("a b", JOB) == "a_b"
    assert names.name("a/b", OTHER) == f"a_b_{OTHER}"
    assert names.name("A_B", JOB) == f"A_B_{JOB}"
    assert names.name("Street", JOB) == "Street"
    assert names.name("street", OTHER) == f"street_{OTHER}"


def test_windows_device_names_are_avoided() -> None:
    names = FileNames()
    assert names.name("con", JOB) == f"con_{JOB}"
    assert names.name("LPT1.txt", JOB) == f"LPT1.txt_{JOB}"
    assert names.name("console", JOB) == "console"


def test_many_names_stay_unique_with_a_small_filter() -> None:
    names = FileNames(bits=1 << 12)  # tiny: many false positives, never a duplicate
    given = [names.name(f"ref-{i % 500}", f"{i:08d}-job") for i in range(2000)]
    assert len({n.casefold() for n in given}) == len(given)


def test_a_name_taken_with_its_job_id_too_gets_a_counter() -> None:
    names = FileNames()
    given = [names.name("scan", JOB) for _ in range(4)]
    assert given == ["scan", f"scan_{JOB}", f"scan_{JOB}_2", f"scan_{JOB}_3"]
    reserved = [names.name("aux", JOB) for _ in range(2)]
    assert reserved == [f"aux_{JOB}", f"aux_{JOB}_2"]


def test_reference_ids_safe_as_they_are_get_the_names_the_regex_gives() -> None:
    """Safe reference ids skip the regex: their names are the same as through it."""
    ids = [
        "img-0000001", "IMG_0001.v2-final", "a.b.c", ".hidden", "trail.", "..", ".", "-", "_",
        "x" * MAX_STEM, "x" * (MAX_STEM + 1), "y" * (MAX_STEM - 1) + ".", "ä", "a b", "a/b",
        "con", "aux.1", "CON.", "a\x00b", "١٢٣", "Ⅻ", "ß", "ﬁle", "ok_ok-ok.ok",
    ]  # fmt: skip
    fast, slow = FileNames(), FileNames()
    for i, reference_id in enumerate(ids + ids):
        job_id = f"{i:08d}-job"
        stem = SAFE.sub("_", reference_id)[:MAX_STEM].strip(".") or "job"
        assert fast.name(reference_id, job_id) == slow.name(stem, job_id), reference_id
