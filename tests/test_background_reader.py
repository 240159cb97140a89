"""learn.transcripts.background: the reader in a second process gives exactly what it gives here.

Real processes, real pipes, real files; each test that starts a reader runs twice: with the
reader forked from this process, and in a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from learn import digest
from learn.ahead import Ahead
from learn.digest import DigestOptions, build_digest
from learn.errors import SystemProblem
from learn.privacy import triggers
from learn.transcripts import background, background_child
from learn.transcripts.background import read_in_background, worth_a_process
from learn.transcripts.files import SessionFile, discover
from learn.transcripts.reader import Block, Message, ReadStats, read_sessions
from tests.support.transcripts import assistant, fix_session, tool_result, user, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.jsonl"))
LINUX = pytest.mark.skipif(sys.platform != "linux", reason="the reader is forked on Linux only")


@pytest.fixture(params=["fork", "spawn"], autouse=True)
def start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the reader's process is made, for every test here."""
    if request.param == "fork" and sys.platform != "linux":
        pytest.skip("the reader is forked on Linux only")
    monkeypatch.setattr(background, "_forkable", lambda: request.param == "fork")
    return str(request.param)


def _session(tmp_path: Path) -> list[tuple[Path, str]]:
    """A main session and a subagent, with what the reader must cope with: an integer beyond 64
    bits in a tool input (MessagePack cannot carry it), invalid UTF-8, a line that is not JSON,
    duplicates across files, joined assistant lines and more messages than one batch."""
    main = fix_session(tmp_path / "main.jsonl", "s-main", command="pytest", error="E", file="a.py")
    big = assistant(
        {"type": "tool_use", "id": "t9", "name": "Calc", "input": {"n": 0}}, "u-big", "m"
    )
    lines = [user(f"prompt {i}", f"u-{i}") for i in range(300)]
    command = {"command": "mysql -pS3cr3tpw db", "description": "mail jane@corp.io"}
    lines.append(
        assistant({"type": "tool_use", "id": "t8", "name": "Bash", "input": command}, "u-c", "m-c")
    )
    lines.append(tool_result("t8", "see /home/alice/.claude/settings.json", "u-r8"))
    failing = {"type": "tool_use", "id": "t6", "name": "Bash", "input": {"command": "make"}}
    lines.append(assistant(failing, "u-c6", "m-c6"))
    output = "\n".join(["building"] * 30 + ["Error: no rule to make target"] + ["done"] * 30)
    lines.append(tool_result("t6", output, "u-r6", is_error=True))  # its error lines
    read = {"type": "tool_use", "id": "t7", "name": "Read", "input": {"file_path": "/repo/a"}}
    lines.append(assistant(read, "u-c7", "m-c7"))
    lines.append(tool_result("t7", "a file's\nlines", "u-r7"))  # read ahead as its line count
    # Cleaning joins what was apart: the block's note does not hold for the cleaned text.
    lines.append(user("pass<system-reminder>x</system-reminder>word=Hunter2xyz!q", "u-j"))
    lines.append(user("again", "u-1"))  # a duplicate uuid: dropped
    raw_tail = orjson.dumps(big).replace(b'"n":0', b'"n":%d' % 2**70) + b"\n"
    raw_tail += orjson.dumps(tool_result("t9", "ok", "u-res")) + b"\n"
    raw_tail += b'{"type":"user","uuid":"u-bad","message":{"content":"caf\xe9"}}\n{not json\n'
    agent = write_jsonl(tmp_path / "subagents" / "agent-a1.jsonl", lines, raw_tail)
    return [(main, ""), (agent, "subagent agent-a1")]


def _both(sources: list[tuple[Path, str]]) -> tuple[tuple[list, ReadStats], tuple[list, ReadStats]]:
    """What both readers give; the background reader's trigger notes checked, then cleared."""
    here, there = ReadStats(), ReadStats()
    theirs = list(read_in_background(sources, there))
    for msg in theirs:
        for block in msg.blocks:
            _check_triggers(block)
            block.fired = -1
    return (list(read_sessions(sources, here)), here), (theirs, there)


def _check_triggers(block: Block) -> None:
    """The note covers every trigger of the block's text (of each string of a tool input)."""
    texts = (
        list(background_child._strings(block.input)) if block.kind == "tool_use" else [block.text]
    )
    assert block.fired >= 0
    for text in texts:
        fired = triggers.fired(text.encode("utf-8", "surrogatepass"))
        assert fired & ~block.fired == 0, (text[:80], fired, block.fired)


def test_same_messages_and_statistics(tmp_path: Path) -> None:
    (mine, my_stats), (theirs, their_stats) = _both(_session(tmp_path))
    assert theirs == mine
    assert their_stats == my_stats
    assert my_stats.repaired == 1 and my_stats.skipped == 1 and my_stats.duplicates >= 1
    assert any(b.input.get("n") == 2**70 for m in mine for b in m.blocks)  # the pickle path


def test_the_child_prepares_each_message_as_asked(tmp_path: Path) -> None:
    sources = _session(tmp_path)
    theirs = list(read_in_background(sources, prepare=Ahead()))
    mine, ahead = list(read_sessions(sources)), Ahead()
    for msg in mine:
        ahead(msg, False)
    made = [b for m in theirs for b in m.blocks if b.excerpt is not None]
    assert made and all(b.fired == -1 for b in made)  # not scrubbed by the digest: no note
    for msg in theirs:
        for block in msg.blocks:
            block.fired = -1
    assert theirs == mine


def test_the_trigger_notes_are_there(tmp_path: Path) -> None:
    blocks = [b for m in read_in_background(_session(tmp_path)) for b in m.blocks]
    for block in blocks:
        _check_triggers(block)
    fired = {b.kind: b.fired for b in blocks if b.fired}
    assert fired["tool_use"] & triggers.scan_bit(b"-") and fired["tool_use"] & triggers.EMAIL
    assert fired["tool_result"] & triggers.HOMES and fired["tool_result"] & triggers.CLAUDE


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_same_as_in_process_on_the_examples(example: Path) -> None:
    sources = [(f.path, f.agent) for f in discover([example])]
    (mine, my_stats), (theirs, their_stats) = _both(sources)
    assert theirs == mine and their_stats == my_stats


def test_the_child_imports_this_learn_not_the_one_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A repository being learned may have its own learn/ package; the child must not pick it up.
    impostor = tmp_path / "repo" / "learn"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text("raise SystemExit('the wrong learn package')\n")
    (impostor / "ahead.py").write_text("raise SystemExit('the wrong learn.ahead')\n")
    monkeypatch.chdir(tmp_path / "repo")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    (mine, my_stats), (theirs, their_stats) = _both(_session(tmp_path))
    assert theirs == mine and their_stats == my_stats
    prepared = list(read_in_background(_session(tmp_path), prepare=Ahead()))
    assert len(prepared) == len(mine)  # the preparer too is this package's


def test_an_unreadable_file_raises_here(tmp_path: Path) -> None:
    missing = tmp_path / "gone.jsonl"
    with pytest.raises(FileNotFoundError) as here:
        list(read_sessions([(missing, "")]))
    with pytest.raises(FileNotFoundError) as there:
        list(read_in_background([(missing, "")]))
    assert str(there.value) == str(here.value)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[background._Child]:
    """The reader processes started in a test, in order."""
    children: list[background._Child] = []
    start = background._start

    def spy(*args: object) -> background._Child:
        children.append(start(*args))  # type: ignore[arg-type]
        return children[-1]

    monkeypatch.setattr(background, "_start", spy)
    return children


def test_stopping_early_ends_the_child(tmp_path: Path, started: list[background._Child]) -> None:
    messages = read_in_background(_session(tmp_path))
    first = next(messages)
    assert first.role == "user"
    assert started[0].poll() is None  # reading on
    messages.close()
    assert started[0].poll() is not None  # ended, and waited for


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a named pipe stands for a growing file")
def test_the_callers_work_meanwhile(tmp_path: Path, started: list[background._Child]) -> None:
    """``meanwhile`` runs once the child has started; if it fails, the child is ended."""
    ran: list[int] = []
    messages = list(
        read_in_background(_session(tmp_path), meanwhile=lambda: ran.append(len(started)))
    )
    assert ran == [1] and messages

    def fail() -> None:
        raise OSError("cannot remove the old digest")

    # The child reads a named pipe that stays open: left alone, it would not end.
    with _growing(tmp_path, orjson.dumps(user("first", "u-1")) + b"\n") as (fifo, gave_up):
        with pytest.raises(OSError, match="cannot remove"):
            next(read_in_background([(fifo, "")], meanwhile=fail))
        assert started[1].poll() is not None  # ended, and waited for
    assert not gave_up.is_set()


def test_a_child_that_dies_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    if start == "fork":
        monkeypatch.setattr(background, "serve_forked", lambda *_: os._exit(7))
    else:
        monkeypatch.setattr(background, "_BOOT", "import sys; sys.exit(7)")
    with pytest.raises(SystemProblem, match=r"ended unexpectedly \(exit code 7\)"):
        list(read_in_background(_session(tmp_path)))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a named pipe stands for a growing file")
def test_a_frame_reaches_the_caller_as_soon_as_it_is_made(tmp_path: Path) -> None:
    """A first frame (a few KB) is not kept in the child's buffer until more is read: here the
    source is a named pipe that stays open until the caller has a message (or for 5 s: then
    the message came only with the end of the file, too late)."""
    lines = b"".join(orjson.dumps(user(f"prompt {i}", f"u-{i}")) + b"\n" for i in range(20))
    with _growing(tmp_path, lines) as (fifo, gave_up):
        first = next(read_in_background([(fifo, "")]))
    assert first.blocks[0].text == "prompt 0"
    assert not gave_up.is_set()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a named pipe stands for a growing file")
def test_a_forked_child_holds_none_of_the_callers_files(tmp_path: Path, start: str) -> None:
    """Once the caller closes its end of a pipe, the pipe's reader sees its end at once: the
    forked child, still reading, does not hold a copy of it."""
    read, write = os.pipe()
    lines = b"".join(orjson.dumps(user(f"prompt {i}", f"u-{i}")) + b"\n" for i in range(20))
    with _growing(tmp_path, lines) as (fifo, gave_up):
        messages = read_in_background([(fifo, "")])
        assert next(messages).blocks[0].text == "prompt 0"  # the child is reading on
        os.close(write)
        ready, _, _ = select.select([read], [], [], 5)
        assert ready and os.read(read, 1) == b""  # the end, not a wait for the child
        messages.close()
    os.close(read)
    assert not gave_up.is_set()


@contextlib.contextmanager
def _growing(tmp_path: Path, lines: bytes) -> Iterator[tuple[Path, threading.Event]]:
    """A named pipe holding ``lines``, left open (no end of file) for the block, or for 5 s."""
    fifo = tmp_path / "growing.jsonl"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)  # a writer that does not wait for a reader to open it
    os.write(fd, lines)
    gave_up = threading.Event()

    def give_up() -> None:
        gave_up.set()
        os.close(fd)

    timer = threading.Timer(5, give_up)
    timer.start()
    try:
        yield fifo, gave_up
    finally:
        timer.cancel()
        if not gave_up.is_set():
            os.close(fd)


class _Unmakeable:
    """A preparer that fails: a fresh interpreter cannot even make it (its module is missing
    there); a fork has it, and it raises on the first message."""

    def __reduce__(self) -> tuple[object, ...]:
        return (importlib.import_module, ("learn.nowhere",))

    def __call__(self, msg: object, spare: bool) -> None:
        raise RuntimeError("cannot prepare this")

    def finish(self) -> None:
        pass


def test_a_failing_preparer_is_raised_here(tmp_path: Path, start: str) -> None:
    expected = RuntimeError if start == "fork" else ModuleNotFoundError
    with pytest.raises(expected, match=r"cannot prepare this|learn\.nowhere"):
        list(read_in_background(_session(tmp_path), prepare=_Unmakeable()))


def test_how_much_waits_in_the_pipe() -> None:
    assert background_child._waiting(io.BytesIO()) is None  # not a pipe: never behind
    if sys.platform == "win32":
        return
    read, write = os.pipe()
    with open(read, "rb", buffering=0) as reader, open(write, "wb", buffering=0) as writer:
        waiting = background_child._waiting(writer)
        assert waiting is not None and waiting() == 0
        writer.write(b"x" * 3000)
        assert waiting() == 3000
        reader.read(1000)
        assert waiting() == 2000


@pytest.mark.parametrize("behind", [False, True], ids=["keeping-up", "behind"])
def test_the_digest_is_the_same_when_the_caller_is_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str, behind: bool
) -> None:
    if start == "spawn":
        pytest.skip("the threshold is set here, in the forked child's memory")
    monkeypatch.setattr(background_child, "_BEHIND", -1 if behind else 1 << 40)
    made: list[Block] = []  # results made in the reader's process

    def counting(*args: Any, **kwargs: Any) -> Iterator[Message]:
        for msg in read_in_background(*args, **kwargs):
            made.extend(b for b in msg.blocks if b.excerpt is not None)
            yield msg

    monkeypatch.setattr(digest, "read_in_background", counting)
    files = [SessionFile(path, agent) for path, agent in _session(tmp_path)]
    build_digest(files, tmp_path / "here", DigestOptions(background=False))
    build_digest(files, tmp_path / "there", DigestOptions(background=True))
    read_ahead = 1  # the one Read result, made there in any case
    assert len(made) > read_ahead if behind else len(made) == read_ahead
    for path in (tmp_path / "here").iterdir():
        assert (tmp_path / "there" / path.name).read_bytes() == path.read_bytes(), path.name


@LINUX
def test_a_fork_only_with_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real check
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not background._forkable()
    finally:
        stop.set()
        other.join()
    # A fresh interpreter has one thread (this one may have others, left by other tests).
    check = "from learn.transcripts import background; assert background._forkable()"
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True)


def test_when_a_process_is_worth_it(monkeypatch: pytest.MonkeyPatch, start: str) -> None:
    big, forked = background.BACKGROUND_FROM_BYTES, background.FORKED_FROM_BYTES
    monkeypatch.setattr(background, "_cores", lambda: 2)
    assert worth_a_process([big // 2, big // 2])
    assert worth_a_process([forked // 2, forked // 2]) == (start == "fork")  # sooner: cheaper
    assert not worth_a_process([forked - 1])
    monkeypatch.setattr(background, "_cores", lambda: 1)
    assert not worth_a_process([big * 10])


def test_the_digest_is_byte_identical_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _session(tmp_path)
    files = [SessionFile(path, agent) for path, agent in sources]
    started: list[int] = []

    def spy(*args: object, **kwargs: object) -> object:
        started.append(1)
        return read_in_background(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(digest, "read_in_background", spy)
    build_digest(files, tmp_path / "here")  # small: read here
    assert started == []
    monkeypatch.setattr(background, "BACKGROUND_FROM_BYTES", 0)
    monkeypatch.setattr(background, "_cores", lambda: 2)
    build_digest(files, tmp_path / "there")  # read in the background
    assert started == [1]
    build_digest(files, tmp_path / "asked", DigestOptions(background=False))
    assert started == [1]
    names = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "there").iterdir())
    assert b"Hunter2xyz" not in (tmp_path / "there" / "events.jsonl").read_bytes()
    for name in names:
        here = (tmp_path / "here" / name).read_bytes()
        assert (tmp_path / "there" / name).read_bytes() == here
        assert (tmp_path / "asked" / name).read_bytes() == here
