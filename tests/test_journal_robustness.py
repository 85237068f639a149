"""The journal under strange input (issue 13 items 9, 10, 12): one-line errors, nothing changed."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Lab
from tui.app.model import Poller
from tui.core import journal_cache
from tui.core import runs as core_runs
from tui.core.errors import UserError
from tui.core.journal import CACHE_MIN_BYTES, Journal, JournalError

HEAD = '# my lab\n[experiments.e]\ncommand = "sleep 1"\n\n'


def one_line_error(p: subprocess.CompletedProcess, *words: str) -> str:
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    err = p.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path)


# ----------------------------------------------------------------------------- item 9: field types

BAD = {
    "p_str": 'params = "x"',
    "n_int": "notes = 5",
    "s_word": 'started = "yesterday"',
    "g_int": "gpus = 5",
    "c_nan": f"pid = {os.getpid()}\ncreate_time = nan",
}


def write_bad(lab: Lab) -> str:
    text = HEAD + '[runs.good]\nstatus = "finished"\nnotes = ["fine"]\n\n'
    text += '[runs.n_str]\nstatus = "finished"\nnotes = "a single note"\n\n'
    for rid, line in BAD.items():
        status = "running" if rid == "c_nan" else "finished"
        text += f'[runs.{rid}]\nstatus = "{status}"\n{line}\n\n'
    lab.journal.write_text(text)
    return text


def test_wrong_field_types_are_listed_with_their_problem(lab):
    text = write_bad(lab)
    p = lab.labtui("ls", check=True)
    lines = p.stdout.splitlines()
    assert len(lines) == 1 + 2 + len(BAD)
    for rid, line in BAD.items():
        field = line.split()[0] if rid != "c_nan" else "create_time"
        row = next(r for r in lines if r.startswith(rid + " "))
        assert f"bad:{field}" in row, row
        assert f"{lab.journal}: run {rid}, field {field}: must be" in p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == len(BAD)
    # a NaN create time never matches a process, even the live one whose pid is recorded
    c_nan = next(r for r in lines if r.startswith("c_nan "))
    assert "running" not in c_nan and "lost" in c_nan
    data = json.loads(lab.labtui("ls", "--json", check=True).stdout)
    assert {r["id"] for r in data["runs"]} == {"good", "n_str", *BAD}
    # a string of notes is one note, not one per character
    by_id = {r.id: r for r in core_runs.list_runs(Journal(lab.journal))}
    assert [n["text"] for n in by_id["n_str"].notes] == ["a single note"]
    assert by_id["p_str"].params == {} and by_id["g_int"].gpus is None and by_id["s_word"].started is None
    # ls recorded the lost run's status (reconcile), and left every bad field as it was
    new = lab.journal.read_text()
    assert new == text.replace('status = "running"', 'status = "lost"')


def test_show_with_wrong_types_does_not_crash(lab):
    write_bad(lab)
    for rid in BAD:
        lab.labtui("show", rid, check=True)
    p = lab.labtui("show", "n_str", check=True)
    assert "a single note" in p.stdout


def test_note_and_tags_on_a_wrong_type_refused_in_one_line(lab):
    text = HEAD + '[runs.r1]\nstatus = "finished"\nnotes = 5\ntags = 7\n'
    lab.journal.write_text(text)
    one_line_error(lab.labtui("note", "r1", "hello"), str(lab.journal), "run r1", "field notes",
                   "nothing was changed")
    one_line_error(lab.labtui("tag", "r1", "x"), "run r1", "field tags", "nothing was changed")
    assert lab.journal.read_text() == text


def test_a_hand_written_string_of_tags_is_one_tag(lab):
    lab.journal.write_text(HEAD + '[runs.r1]\nstatus = "finished"\ntags = "best"\n')
    assert core_runs.add_tags(Journal(lab.journal), "r1", ["new"]) == ["best", "new"]


def test_deep_nesting_is_one_line_and_unchanged(lab):
    text = HEAD + '[runs.r1]\nstatus = "finished"\nx = ' + "[" * 3000 + "]" * 3000 + "\n"
    lab.journal.write_text(text)
    one_line_error(lab.labtui("ls"), str(lab.journal), "nested too deeply")
    one_line_error(lab.labtui("note", "r1", "x"), str(lab.journal))
    assert lab.journal.read_text() == text


def test_out_of_order_sub_table_edits_exactly_or_not_at_all(lab):
    text = HEAD + ('[runs.a]\nstatus = "finished"  # keep me\n\n[runs.b]\nstatus = "finished"\n\n'
                   '[runs.a.extra]\nz = 3\n')
    lab.journal.write_text(text)
    p = lab.labtui("note", "a", "hello")
    if p.returncode:
        one_line_error(p, "run a", "nothing was changed")
        assert lab.journal.read_text() == text
    else:
        new = lab.journal.read_text()
        assert "# keep me" in new
        rec = Journal(lab.journal).read()["runs"]["a"]
        assert rec["extra"] == {"z": 3} and [n["text"] for n in rec["notes"]] == ["hello"]


def test_read_only_file_system_and_full_disk_are_one_line(lab, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        small = Lab(mnt)
        text = HEAD + '[runs.r1]\nstatus = "finished"\n'
        small.journal.write_text(text)
        small.labtui("ls", check=True)  # creates nothing we need later
        # full: fill the tmpfs, then note
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        one_line_error(small.labtui("note", "r1", "x" * 5000), "run r1", "field notes", "disk full",
                       "nothing was changed")
        assert small.journal.read_text() == text
        os.unlink(mnt / "filler")
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        one_line_error(small.labtui("note", "r1", "x"), "nothing was changed")
        one_line_error(small.labtui("tag", "r1", "x"), "nothing was changed")
        assert small.journal.read_text() == text
        assert small.labtui("ls", check=True).stdout.count("r1") == 1
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


# ----------------------------------------------------------------------------- item 9: the app

def test_app_keeps_showing_a_journal_error_until_it_parses(lab):
    lab.journal.write_text(HEAD + '[runs.r1]\nstatus = "finished"\n')
    poller = Poller(Journal(lab.journal))
    assert poller.poll().error is None
    lab.journal.write_text(HEAD + '[runs.r1]\nstatus = "finished\n')
    errors = [poller.poll().error for _ in range(5)]
    assert all(e and "invalid TOML" in e for e in errors), errors
    lab.journal.write_text(HEAD + '[runs.r1]\nstatus = "finished"\n# fixed\n')
    assert poller.poll().error is None


# ----------------------------------------------------------------------------- item 10: never rewritten

def test_a_journal_ls_rejects_is_never_rewritten_by_note(lab):
    raw = (HEAD + '[runs.r1]\nstatus = "finished"\r# a lone CR\n').encode()
    lab.journal.write_bytes(raw)
    one_line_error(lab.labtui("ls"), str(lab.journal))
    one_line_error(lab.labtui("note", "r1", "x"), str(lab.journal))
    with pytest.raises(UserError):
        core_runs.set_verdict(Journal(lab.journal), "r1", "keep")
    assert lab.journal.read_bytes() == raw


def test_crlf_journal_stays_crlf(lab):
    raw = (HEAD + '[runs.r1]\nstatus = "finished"  # done\n').replace("\n", "\r\n").encode()
    lab.journal.write_bytes(raw)
    lab.labtui("note", "r1", "first", check=True)
    lab.labtui("tag", "r1", "a", "b", check=True)
    new = lab.journal.read_bytes()
    assert new.count(b"\n") == new.count(b"\r\n") > raw.count(b"\n")
    assert b"# done" in new and b"first" in new


def test_symlinked_journal_stays_a_symlink(lab, tmp_path):
    real = tmp_path / "elsewhere" / "real.toml"
    real.parent.mkdir()
    real.write_text(HEAD + '[runs.r1]\nstatus = "finished"\n')
    lab.journal.symlink_to(real)
    lab.labtui("note", "r1", "through the link", check=True)
    assert lab.journal.is_symlink() and os.readlink(lab.journal) == str(real)
    assert "through the link" in real.read_text()
    # one lock for both paths: the one beside the real file
    assert Journal(lab.journal).lock_path == Journal(real).lock_path == real.with_name("real.toml.lock")


def test_a_0444_journal_is_not_rewritten(lab):
    text = HEAD + '[runs.r1]\nstatus = "finished"\n'
    lab.journal.write_text(text)
    lab.journal.chmod(0o444)
    one_line_error(lab.labtui("note", "r1", "x"), str(lab.journal), "read-only", "run r1", "nothing was changed")
    assert lab.journal.read_text() == text and (lab.journal.stat().st_mode & 0o777) == 0o444
    lab.labtui("ls", check=True)


# ----------------------------------------------------------------------------- item 12: the cache

def big_journal(lab: Lab, n: int = 600) -> str:
    text = HEAD + "".join(f'[runs.r{i}]\nstatus = "finished"\nstarted = 2026-05-13T08:00:00+00:00\n'
                          f'params = {{ lr = {i}e-3, "$dt" = "not a tag" }}\n\n' for i in range(n))
    assert len(text) > CACHE_MIN_BYTES
    lab.journal.write_text(text)
    return text


def test_journal_cache_is_data_only_and_verified(lab, tmp_path):
    big_journal(lab)
    j = Journal(lab.journal)
    want = j.read()
    cache = lab.root / "logs" / ".journal-cache"
    head, body = cache.read_bytes().split(b"\n", 1)
    assert head.startswith(b"labtui-journal-cache 2 ")
    lines = body.decode("ascii").splitlines()
    assert len(lines) == 1 + 600 and all(isinstance(json.loads(x), dict) for x in lines)  # plain JSON
    assert Journal(lab.journal).read() == want  # from the cache: datetimes and "$" keys survive
    assert want["runs"]["r3"]["params"]["$dt"] == "not a tag"

    # an old-style pickle cache with the right hash is never unpickled
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    import hashlib
    digest = hashlib.blake2b(lab.journal.read_bytes(), digest_size=16).digest()
    cache.write_bytes(digest + pickle.dumps({"runs": Evil()}))
    assert Journal(lab.journal).read() == want
    assert not marker.exists()

    # a forged JSON cache with the right hash but the wrong shape or a bad tag is not trusted
    hexd = journal_cache.digest(lab.journal.read_bytes())
    top = b'{"rest":{},"runs":["a"]}'
    for forged in (b'{"rest":{},"runs":5}\n', top + b"\n5\n", top + b'\n{"\\ud800x":1}\n',
                   top + b'\n{"s":{"\\ud800dt":"no"}}\n', top + b"\n{not json\n", b"[1, 2]\n",
                   top + b'\n{"a":1},{"b":2}\n', top + b"\n", b'{"rest":{"runs":{}},"runs":null}\n'):
        cache.write_bytes(journal_cache.MAGIC + hexd.encode() + b"\n" + forged)
        assert Journal(lab.journal).read() == want, forged


def test_cache_is_ignored_when_the_journal_changes(lab):
    big_journal(lab)
    Journal(lab.journal).read()
    text = lab.journal.read_text().replace('[runs.r5]\nstatus = "finished"', '[runs.r5]\nstatus = "killed"')
    lab.journal.write_text(text)
    assert Journal(lab.journal).read()["runs"]["r5"]["status"] == "killed"


def test_journal_error_carries_file_name(lab):
    lab.journal.write_text("[runs.x\n")
    with pytest.raises(JournalError, match=str(lab.journal)):
        Journal(lab.journal).read()


def test_a_kept_parse_serves_the_next_read_of_the_same_bytes_once(tmp_path):
    """The CLI checks the journal before the app opens and keeps the parse for the app's
    first poll; any change of the bytes in between parses again."""
    p = tmp_path / "experiments.toml"
    p.write_text('[runs.a]\nstatus = "finished"\n')
    j = Journal(p)
    first = j.read(keep=True)
    assert j.read() is first  # the same bytes: no second parse
    again = j.read()
    assert again == first and again is not first  # kept once only
    j.read(keep=True)
    p.write_text('[runs.a]\nstatus = "killed"\n')  # changed meanwhile: parsed again
    assert j.read()["runs"]["a"]["status"] == "killed"
    j2 = Journal(p)
    assert j2.read() is not j2.read()  # nothing kept without keep=True
