"""Personal data: home directories (three OS forms), ~/.claude paths, e-mail addresses and the
team-domain allow-list setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from learn import settings
from learn.digest import DigestOptions, build_digest
from learn.privacy.personal import EMAIL_MARKER, NAME_MARKER, allowed_domains, findings, mask
from learn.transcripts.files import discover
from tests.support.transcripts import assistant, tool_result, user, write_jsonl

USER = "jdoe" + "42"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"cd /home/{USER}/src/app && ls", "cd ~/src/app && ls"),
        (f'File "/Users/{USER}/dev/x.py", line 3', 'File "~/dev/x.py", line 3'),
        (f"C:\\Users\\{USER}\\AppData\\Local", "~\\AppData\\Local"),
        (f"C:/Users/{USER}/proj", "~/proj"),
        (f"cd /home/{USER}", "cd ~"),
        (f"ls: -home-{USER}-src-app", "ls: ~-src-app"),
        (
            f"see /home/{USER}/.claude/projects/-home-{USER}-app/5f0c.jsonl",
            "see ~/.claude/5f0c.jsonl",
        ),
        ("~/.claude/settings.json was read", "~/.claude/settings.json was read"),
        ("edited ~/.claude/plans/quiet-fox.md", "edited ~/.claude/quiet-fox.md"),
        ("https://example.com/home/index.html", "https://example.com/home/index.html"),
        ("/Users/Shared/tmp", "/Users/Shared/tmp"),
    ],
)
def test_home_directories_and_claude_paths(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe@gmail.com now", f"mail {EMAIL_MARKER} now"),
        ("Author: J <jd+ci@corp.example.org>", "Author: J <jd+ci@corp.example.org>"),
        ("bob@acme.io and x@dev.acme.io", "bob@acme.io and x@dev.acme.io"),
        ("eve@acme.io.evil.com", EMAIL_MARKER),
        ("me@example.com, ci@build.invalid", "me@example.com, ci@build.invalid"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("https://octo@github.com/org/repo", "https://octo@github.com/org/repo"),
        ("@dataclass and npm i @types/node", "@dataclass and npm i @types/node"),
    ],
)
def test_emails_are_masked_outside_the_allow_list(text: str, expected: str) -> None:
    assert mask(text, ("acme.io",)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Author: Jane Doe <jane@corp.com>", f"Author: {NAME_MARKER} <{EMAIL_MARKER}>"),
        (
            "Signed-off-by: Jean-Luc O\u2019Brien <jl@corp.com>\nCo-authored-by: 山田 太郎 <t@corp.jp>",
            f"Signed-off-by: {NAME_MARKER} <{EMAIL_MARKER}>\n"
            f"Co-authored-by: {NAME_MARKER} <{EMAIL_MARKER}>",
        ),
        (
            '"author": "J. R. Tolkien <jrr@corp.com>",',
            f'"author": "{NAME_MARKER} <{EMAIL_MARKER}>",',
        ),
        (  # at most four words before the address
            "written by the one and only Jane Doe <jane@corp.com>",
            f"written by the one {NAME_MARKER} <{EMAIL_MARKER}>",
        ),
        ("mailto:<jane@corp.com>", f"mailto:<{EMAIL_MARKER}>"),  # no name
        ("Jane <jane@example.com>", "Jane <jane@example.com>"),  # an address kept keeps its name
        ("Bob Smith <bob@acme.io>", "Bob Smith <bob@acme.io>"),  # the team's domain
        (  # nobody's own address
            "Co-Authored-By: Claude <noreply@anthropic.com>",
            "Co-Authored-By: Claude <noreply@anthropic.com>",
        ),
    ],
)
def test_a_name_written_with_its_address_is_masked_with_it(text: str, expected: str) -> None:
    assert mask(text, ("acme.io",)) == expected
    assert findings(mask(text, ("acme.io",)), ("acme.io",)) == []


def test_findings_name_kinds_and_offsets() -> None:
    text = f"x /home/{USER}/a y z@corp-mail.net"
    assert [kind for _, kind in findings(text)] == ["home-directory", "email"]
    assert findings(mask(text)) == []


def test_the_allow_list_is_a_declared_setting(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.learn]\nemail-allow = "acme.io"\n')
    assert settings.load(tmp_path, env={}).email_allow == "acme.io"
    loaded = settings.load(tmp_path, env={"LEARN_EMAIL_ALLOW": "acme.io, team.example.net"})
    assert allowed_domains(loaded.email_allow) == ("acme.io", "team.example.net")
    assert "email-allow" in settings.cli_help()
    assert allowed_domains(["a.org", "b.com"]) == ("a.org", "b.com")


def test_no_user_name_or_address_reaches_the_digest(tmp_path: Path) -> None:
    lines = [
        user(f"my checkout is /Users/{USER}/app, mail {USER}@corp-mail.net or bob@acme.io", "u1"),
        assistant({"type": "text", "text": f"Reading C:\\Users\\{USER}\\app"}, "u2", "m2"),
        assistant(
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "git log"}},
            "u3",
            "m3",
        ),
        tool_result("t1", f"Author: J Doe <{USER}@corp-mail.net>\n/home/{USER}/app/x.py", "u4"),
    ]
    session = write_jsonl(tmp_path / "s.jsonl", lines)
    out = tmp_path / "digest"
    build_digest(discover([session]), out, DigestOptions(email_allow=("acme.io",)))
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()))
    assert USER not in text
    assert "bob@acme.io" in text
