"""learn.privacy.redact: token families, assignments, URLs, key blocks, JSON, idempotence, no false
positives, and hypothesis properties.

Every secret-looking sample is built by concatenation at run time, so this file itself holds no
literal token that a secret scanner would flag.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learn.privacy.allowlist import placeholder_token
from learn.privacy.redact import (
    KINDS,
    Finding,
    contains_secret,
    find_secrets,
    redact,
)

BODY36 = "A1b2" * 9
GH = "ghp_" + BODY36
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    "." + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    "." + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def assert_redacted(text: str, secret: str, kind: str) -> str:
    out = redact(text)
    assert secret not in out, out
    assert marker(kind) in out, out
    assert kind in KINDS
    return out


# --- token families ---------------------------------------------------------------------------

TOKENS = {
    "github-classic": (GH, "github-token"),
    "github-oauth": ("gho_" + BODY36, "github-token"),
    "github-user": ("ghu_" + BODY36, "github-token"),
    "github-server": ("ghs_" + BODY36, "github-token"),
    "github-refresh": ("ghr_" + BODY36, "github-token"),
    "github-fine-grained": (
        "github_pat_" + "11ABCDEFG0" + "Kq7Lm2Np4Rs8" + "_" + "Zq9" * 19,
        "github-token",
    ),
    "aws-access-key": (AWS_ID, "aws-access-key"),
    "aws-session-key-id": ("ASIA" + "Y34FZKBOKMUTVV7A", "aws-access-key"),
    "anthropic": ("sk-ant-api03-" + "Xy9_Ab3-" * 11 + "AA", "anthropic-key"),
    "openai-legacy": ("sk-" + "T3Bl" + "bkFJ" + "q8Zr" * 10, "openai-key"),
    "openai-project": ("sk-proj-" + "aB3_dE6-" * 12, "openai-key"),
    "slack-bot": ("xoxb-" + "1234567890-1234567890123-" + "AbCdEf" * 4, "slack-token"),
    "slack-user": ("xoxp-" + "1234567890-1234567890-" + "Ab12Cd34" * 4, "slack-token"),
    "slack-app": ("xoxa-" + "2-" + "Ab12Cd34" * 4, "slack-token"),
    "slack-refresh": ("xoxr-" + "Ab12Cd34" * 4, "slack-token"),
    "slack-legacy": ("xoxs-" + "1234-" + "Ab12Cd34" * 4, "slack-token"),
    "stripe-live": ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"),
    "stripe-restricted": ("rk_live_" + "51H" + "aBcD" * 6, "stripe-key"),
    "stripe-test": ("sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe-key"),
    "google-api-key": ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K_lMnOpQrS-tU", "google-api-key"),
    "google-oauth-secret": ("GOCSPX-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8", "google-oauth-secret"),
    "gitlab": ("glpat-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn", "gitlab-token"),
    "npm": ("npm_" + BODY36, "npm-token"),
    "pypi": ("pypi-" + "AgEIcHlwaS5vcmc" + "CJDk0Y2Ex" * 7, "pypi-token"),
    "huggingface": ("hf_" + "AbCdEfGhIj" * 3 + "KlMn", "huggingface-token"),
    "jwt": (JWT, "jwt"),
}


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_token_family_is_redacted(name: str) -> None:
    token, kind = TOKENS[name]
    text = f"output:\n  {token}\nmore text ({token}), and '{token}'."
    out = assert_redacted(text, token, kind)
    assert out.count(marker(kind)) == 3
    assert out.startswith("output:\n  [REDACTED:")
    findings = find_secrets(text)
    assert [text[f.start : f.end] for f in findings] == [token] * 3
    assert {f.kind for f in findings} == {kind}
    assert contains_secret(text)


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_token_inside_escaped_text(name: str) -> None:
    token, kind = TOKENS[name]
    # A JSON document quoted inside a string: the token follows a literal "\n" escape.
    text = r'{"stdout": "line one\n' + token + r'\nline three"}'
    out = assert_redacted(text, token, kind)
    assert out == r'{"stdout": "line one\n' + marker(kind) + r'\nline three"}'


def test_slack_webhook_keeps_host() -> None:
    url = "https://hooks.slack.com/services/" + "T0000ABCD/B0000EFGH/" + "Xy12" * 6
    out = assert_redacted(f"curl -X POST {url} -d x", url, "slack-webhook")
    assert out == "curl -X POST https://hooks.slack.com/services/[REDACTED:slack-webhook] -d x"


def test_aws_pair_from_env_output() -> None:
    text = f"AWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\nAWS_REGION=us-east-1\n"
    assert redact(text) == (
        "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key]\n"
        "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret]\n"
        "AWS_REGION=us-east-1\n"
    )


def test_aws_credentials_file() -> None:
    text = f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"
    out = redact(text)
    assert AWS_ID not in out and AWS_SECRET not in out
    assert "aws_secret_access_key = [REDACTED:aws-secret]" in out


def test_demo_keys_are_redacted_too() -> None:
    # AWS's own documentation example is public, but looks exactly like a real key: redacted.
    assert redact(AWS_ID) == marker("aws-access-key")


# --- assignments ------------------------------------------------------------------------------

SECRET = "hunter2" + "Xq9"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GITHUB_TOKEN={SECRET}", "GITHUB_TOKEN=[REDACTED:secret-assignment]"),
        (f"export DB_PASSWORD={SECRET}", "export DB_PASSWORD=[REDACTED:secret-assignment]"),
        (f"db_password: {SECRET}", "db_password: [REDACTED:secret-assignment]"),
        (f"  client_secret: '{SECRET}'", "  client_secret: '[REDACTED:secret-assignment]'"),
        (f'{{"api_key": "{SECRET}"}}', '{"api_key": "[REDACTED:secret-assignment]"}'),
        (f'{{"apiKey":"{SECRET}"}}', '{"apiKey":"[REDACTED:secret-assignment]"}'),
        (f"X-Api-Key: {SECRET}", "X-Api-Key: [REDACTED:secret-assignment]"),
        (f"app --password={SECRET} -v", "app --password=[REDACTED:secret-assignment] -v"),
        (f"app --token {SECRET} -v", "app --token [REDACTED:secret-assignment] -v"),
        (f"app --api-key '{SECRET}'", "app --api-key '[REDACTED:secret-assignment]'"),
        (f'password = "{SECRET}"', 'password = "[REDACTED:secret-assignment]"'),
        (
            f"connect(user='me', password='{SECRET}')",
            "connect(user='me', password='[REDACTED:secret-assignment]')",
        ),
        (f"SECRET_KEY_BASE={SECRET}", "SECRET_KEY_BASE=[REDACTED:secret-assignment]"),
        (f"passwd={SECRET}", "passwd=[REDACTED:secret-assignment]"),
        (f"PRIVATE_KEY={SECRET}", "PRIVATE_KEY=[REDACTED:secret-assignment]"),
        (f"ACCESS_KEY: {SECRET}", "ACCESS_KEY: [REDACTED:secret-assignment]"),
        (f"STRIPE_APIKEY={SECRET}", "STRIPE_APIKEY=[REDACTED:secret-assignment]"),
        (f"Client-Secret: {SECRET}", "Client-Secret: [REDACTED:secret-assignment]"),
        (f"DB_PWD={SECRET}", "DB_PWD=[REDACTED:secret-assignment]"),
        (f"NPM_AUTH={SECRET}", "NPM_AUTH=[REDACTED:secret-assignment]"),
        (f"credentials: {SECRET}", "credentials: [REDACTED:secret-assignment]"),
        (f'accessToken := "{SECRET}"', 'accessToken := "[REDACTED:secret-assignment]"'),
        (f"'auth_token' => '{SECRET}',", "'auth_token' => '[REDACTED:secret-assignment]',"),
        (
            f"https://api.example.com/v1?access_token={SECRET}&page=2",
            "https://api.example.com/v1?access_token=[REDACTED:secret-assignment]&page=2",
        ),
        (
            f"curl -H 'Authorization: Bearer {SECRET}' https://x",
            "curl -H 'Authorization: Bearer [REDACTED:secret-assignment]' https://x",
        ),
        (
            f'-H "authorization: Basic {SECRET}"',
            '-H "authorization: Basic [REDACTED:secret-assignment]"',
        ),
        # The value is a known token: the more specific kind.
        (f"GITHUB_TOKEN={GH}", "GITHUB_TOKEN=[REDACTED:github-token]"),
        (f'"token": "{GH}"', '"token": "[REDACTED:github-token]"'),
        # Escaped JSON inside a string (literal \" and \n).
        (rf"{{\"password\": \"{SECRET}\"}}", r"{\"password\": \"[REDACTED:secret-assignment]\"}"),
        (rf"a=1\nAPI_TOKEN={SECRET}\nb=2", r"a=1\nAPI_TOKEN=[REDACTED:secret-assignment]\nb=2"),
    ],
)
def test_assignment_styles(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_env_dump() -> None:
    text = (
        "HOME=/home/dev\nPWD=/home/dev/project\nOLDPWD=/home/dev\nSHELL=/bin/bash\n"
        f"GH_TOKEN={GH}\nOPENAI_API_KEY={TOKENS['openai-project'][0]}\nDATABASE_PASSWORD={SECRET}\n"
        "TERM=xterm-256color\n"
    )
    assert redact(text) == (
        "HOME=/home/dev\nPWD=/home/dev/project\nOLDPWD=/home/dev\nSHELL=/bin/bash\n"
        "GH_TOKEN=[REDACTED:github-token]\nOPENAI_API_KEY=[REDACTED:openai-key]\n"
        "DATABASE_PASSWORD=[REDACTED:secret-assignment]\nTERM=xterm-256color\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "password=",
        "password: ",
        'password = ""',
        "password=${DB_PASSWORD}",
        "password: $DB_PASSWORD",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "api_key=<your-api-key>",
        "password: ***",
        "password: xxxxxxxx",
        "GITHUB_TOKEN=[REDACTED:github-token]",
        'password = "[REDACTED:secret-assignment]"',
        "token = None",
        '"password": null',
        "auth: true",
        "secret = False",
        "pwd=abc",
        'password = os.environ["PW"]',
        'password = os.getenv("PW")',
        "token: process.env.GITHUB_TOKEN",
        "token = get_token()",
        "token=get_token(scope)",
        "self.token = token",
        "password = self.password",
        "api_key = settings.API_KEY",
        "token = args.token",
        "access_token = response_json",
        "api_key = DEFAULT_API_KEY",
        "def login(user: str, password: str, token: Optional[str] = None) -> None:",
        "    api_key: dict = field(default_factory=dict)",
        "if password == expected_password:",
        "std::string token::value()",
        'return {"NextToken": next_token, "Items": items}',
        "    access_key: AccessKey,",
        '"input_token": "next_token",',
        "auth_header = 'Authorization'",
        '"AWS::IAM::AccessKey": "72c2d9dd90025459",',
        'Token: "#ddd0c0",',
        'START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\nEND = b"-----END OPENSSH PRIVATE KEY-----"',
        "e.g. https://user:password@proxy.example.com",
    ],
)
def test_non_secret_values_are_left_alone(text: str) -> None:
    assert redact(text) == text
    assert not contains_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "the token is refreshed by the auth middleware before it expires",
        "Set the password in the settings page; tokens are rotated weekly.",
        "max_tokens: 4096\ninput_tokens: 1200\ntoken_type: bearer\ntokenizer: cl100k",
        "Author: Dev <dev@example.com>\nDate:   Mon Nov 23 10:00:00 2026",
        "TOKEN_URL=https://auth.example.com/oauth/token\npassword_file: /etc/pw.txt",
        "secret_name: prod-db\nsecrets: [a, b]\nkey: value\nkeys: 3",
        "PWD=/home/user/secret-project\n",
        "5 passed, 1 skipped in 0.42s",
        "the task-list is risk-free; ask-me-anything; desk-lamp-controller-module-v2",
        "git checkout -b fix/token-refresh && pytest -k test_password_reset",
    ],
)
def test_prose_and_code_are_not_secrets(text: str) -> None:
    assert redact(text) == text


def test_non_secret_identifiers() -> None:
    sha = hashlib.sha1(b"x").hexdigest()
    uid = str(uuid.UUID(int=123456789))
    b64 = base64.b64encode(bytes(range(256)) * 20).decode()
    img = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n" + bytes(3000)).decode()
    blob = base64.b64encode(json.dumps({"a": 1, "sub": "user"}).encode()).decode()  # eyJ...
    text = f"commit {sha}\nid: {uid}\n{b64}\n{img}\nstate={blob}\nsha256:{hashlib.sha256().hexdigest()}"
    assert redact(text) == text
    assert find_secrets(text) == []


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "postgres://user:" + SECRET + "@host/db",
            "postgres://user:[REDACTED:url-password]@host/db",
        ),
        (
            "DATABASE_URL=mysql://app:" + SECRET + "@db.internal:3306/app?ssl=1",
            "DATABASE_URL=mysql://app:[REDACTED:url-password]@db.internal:3306/app?ssl=1",
        ),
        ("redis://:" + SECRET + "@cache:6379/0", "redis://:[REDACTED:url-password]@cache:6379/0"),
        (
            "git clone https://x-access-token:" + GH + "@github.com/o/r.git",
            "git clone https://x-access-token:[REDACTED:github-token]@github.com/o/r.git",
        ),
        (
            '{"url": "amqp://guest:' + SECRET + '@mq"}',
            '{"url": "amqp://guest:[REDACTED:url-password]@mq"}',
        ),
    ],
)
def test_url_password(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com:8443/path?q=1",
        "ssh://git@github.com:22/org/repo.git",
        "git@github.com:org/repo.git",
        "postgres://user:${DB_PASSWORD}@host/db",
        "postgres://user:<password>@host/db",
        "mailto:dev@example.com and @decorator",
        "http://[::1]:8080/",
    ],
)
def test_url_without_password(text: str) -> None:
    assert redact(text) == text


# --- private key blocks ---------------------------------------------------------------------

KEY_BODY = "\n".join(["MIIEowIBAAKCAQEA" + "q8Zr" * 12] * 5)


@pytest.mark.parametrize(
    "label",
    [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ],
)
def test_private_key_block(label: str) -> None:
    block = f"-----BEGIN {label}-----\n{KEY_BODY}\n-----END {label}-----"
    text = f"$ cat id\n{block}\n$ echo done"
    assert redact(text) == "$ cat id\n[REDACTED:private-key]\n$ echo done"


def test_pgp_private_key_block() -> None:
    block = (
        f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{KEY_BODY}\n-----END PGP PRIVATE KEY BLOCK-----"
    )
    assert redact(f"a {block} b") == "a [REDACTED:private-key] b"


def test_private_key_block_with_escaped_newlines_in_json() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\n" + KEY_BODY + "\n-----END RSA PRIVATE KEY-----\n"
    doc = json.dumps({"key": block, "name": "deploy"})  # the block's newlines become \n
    out = redact(doc)
    assert json.loads(out) == {"key": "[REDACTED:private-key]\n", "name": "deploy"}


def test_truncated_private_key_block() -> None:
    text = "cat key.pem\n-----BEGIN PRIVATE KEY-----\n" + KEY_BODY[:150]
    out = redact(text)
    assert out == "cat key.pem\n[REDACTED:private-key]"
    assert "MIIE" not in out


def test_truncated_private_key_block_inside_json_string() -> None:
    doc = json.dumps(
        {"stdout": "-----BEGIN OPENSSH PRIVATE KEY-----\n" + KEY_BODY[:100], "code": 0}
    )
    out = redact(doc)
    assert json.loads(out) == {"stdout": "[REDACTED:private-key]", "code": 0}


def test_encrypted_pem_headers_are_part_of_the_block() -> None:
    text = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
        + "0A1B2C3D" * 4
        + "\n\n"
        + KEY_BODY[:80]
    )
    assert redact(text) == "[REDACTED:private-key]"


# --- JSON stays JSON ----------------------------------------------------------------------------


def test_json_document_inside_text_stays_valid() -> None:
    doc = {
        "env": {"GITHUB_TOKEN": GH, "DB_URL": "postgres://u:" + SECRET + "@h/db", "DEBUG": "1"},
        "auth": {"api_key": SECRET + '"quoted"\\', "password": SECRET, "user": "dev"},
        "headers": {"Authorization": "Bearer " + JWT},
        "log": "GITHUB_TOKEN=" + GH + "\nok",
    }
    text = "tool result:\n" + json.dumps(doc, indent=2) + "\n(exit 0)"
    out = redact(text)
    parsed = json.loads(out[len("tool result:\n") : -len("\n(exit 0)")])
    assert parsed["env"] == {
        "GITHUB_TOKEN": marker("github-token"),
        "DB_URL": "postgres://u:[REDACTED:url-password]@h/db",
        "DEBUG": "1",
    }
    assert parsed["auth"] == {
        "api_key": marker("secret-assignment"),
        "password": marker("secret-assignment"),
        "user": "dev",
    }
    assert parsed["headers"] == {"Authorization": "Bearer " + marker("jwt")}
    assert parsed["log"] == "GITHUB_TOKEN=" + marker("github-token") + "\nok"
    for secret in (GH, SECRET, JWT):
        assert secret not in out


def test_doubly_encoded_json_stays_valid() -> None:
    inner = json.dumps({"token": GH, "password": SECRET})
    outer = json.dumps({"stdout": inner})  # the inner quotes become \" in the text
    out = redact(outer)
    assert json.loads(json.loads(out)["stdout"]) == {
        "token": marker("github-token"),
        "password": marker("secret-assignment"),
    }


# --- positions, markers, idempotence ----------------------------------------------------------


def test_find_secrets_positions_with_non_ascii_text() -> None:
    text = f"héllo — ✓ 🎉 token: {SECRET} and {GH} 😀 done"
    findings = find_secrets(text)
    assert [(f.kind, text[f.start : f.end]) for f in findings] == [
        ("secret-assignment", SECRET),
        ("github-token", GH),
    ]
    assert all(isinstance(f, Finding) for f in findings)
    assert redact(text) == (
        "héllo — ✓ 🎉 token: [REDACTED:secret-assignment] and [REDACTED:github-token] 😀 done"
    )


def test_lone_surrogates_do_not_break_anything() -> None:
    text = "\ud800 token: " + SECRET + " \udfff " + GH
    assert (
        redact(text) == "\ud800 token: [REDACTED:secret-assignment] \udfff [REDACTED:github-token]"
    )


def test_overlapping_findings_leave_nothing_behind() -> None:
    text = f'password = "prefix-{SECRET} {GH} suffix"'
    out = redact(text)
    assert out == 'password = "[REDACTED:github-token]"'


def test_no_trigger_returns_the_same_object() -> None:
    text = "plain words and numbers 12345, nothing to see here. " * 100
    assert redact(text) is text
    assert redact("") == ""


def test_existing_markers_are_never_touched() -> None:
    text = "a [REDACTED:github-token] b [REDACTED:secret-assignment] c"
    assert redact(text) is text
    assert find_secrets(text) == []


IDEMPOTENCE_SAMPLES = [
    f"GITHUB_TOKEN={GH}",
    f"postgres://user:{SECRET}@host/db",
    f'password = "prefix {GH} suffix"',
    f"token: {SECRET}{GH}",
    f"{GH} {GH}",
    "-----BEGIN PRIVATE KEY-----\n" + KEY_BODY,
    f"Authorization: Bearer {JWT}",
    f"--password {SECRET} --token={GH}",
]


@pytest.mark.parametrize("text", IDEMPOTENCE_SAMPLES)
def test_idempotent(text: str) -> None:
    once = redact(text)
    assert once != text
    assert redact(once) == once
    assert not contains_secret(once)


# --- properties ---------------------------------------------------------------------------------

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _body(draw: st.DrawFn, alphabet: str, size: int) -> str:
    # Real keys mix upper case, lower case and digits; the "Zq9" start guarantees it.
    return "Zq9" + draw(st.text(alphabet, min_size=size - 3, max_size=size - 3))


@st.composite
def known_tokens(draw: st.DrawFn) -> str:
    family = draw(st.sampled_from([*sorted(TOKENS), "aws-secret-assignment", "url-password"]))
    if family.startswith("github") and family != "github-fine-grained":
        return draw(st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])) + _body(
            draw, ALNUM, 36
        )
    if family == "github-fine-grained":
        return "github_pat_" + _body(draw, ALNUM + "_", 82)
    if family.startswith("aws-access") or family == "aws-session-key-id":
        return draw(st.sampled_from(["AKIA", "ASIA"])) + draw(
            st.text(ALNUM[:26] + ALNUM[52:], min_size=16, max_size=16)
        )
    if family == "aws-secret-assignment":
        return "AWS_SECRET_ACCESS_KEY=" + _body(draw, ALNUM + "/+", 40)
    if family == "anthropic":
        return "sk-ant-api03-" + _body(draw, ALNUM + "_-", 93)
    if family.startswith("openai"):
        return draw(st.sampled_from(["sk-", "sk-proj-"])) + _body(draw, ALNUM, 48)
    if family.startswith("slack"):
        return draw(st.sampled_from(["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"])) + _body(
            draw, ALNUM + "-", 40
        )
    if family.startswith("stripe"):
        return draw(st.sampled_from(["sk_live_", "rk_live_", "sk_test_"])) + _body(draw, ALNUM, 24)
    if family == "google-api-key":
        return "AIza" + _body(draw, ALNUM + "_-", 35)
    if family == "url-password":
        return "postgres://app:" + _body(draw, ALNUM + "!*~", 16) + "@db/app"
    if family == "jwt":
        return (
            "eyJ"
            + _body(draw, ALNUM + "_-", 30)
            + ".eyJ"
            + _body(draw, ALNUM + "_-", 40)
            + "."
            + _body(draw, ALNUM + "_-", 43)
        )
    token, _ = TOKENS[family]  # the remaining families: their fixed realistic samples
    return token


SEPARATORS = [" ", "\n", "\t", '"', "'", ", ", "(", ")", "=", ": ", "\\n", " | ", "<", ">"]


def _secret_part(token: str) -> str:
    """What must not survive: the value of an assignment, the password of a URL."""
    if token.startswith("AWS_SECRET_ACCESS_KEY="):
        return token.split("=", 1)[1]
    if token.startswith("postgres://"):
        return token[len("postgres://app:") : -len("@db/app")]
    return token


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text())
def test_property_never_raises_and_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert not contains_secret(once)


@FAST
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"])
        | st.sampled_from("=:_-'\"\\ \nkeyTOKENpassauth")
    ),
    st.lists(
        st.tuples(
            known_tokens(),
            st.sampled_from(SEPARATORS),
            st.sampled_from(SEPARATORS),
            st.text(max_size=30),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_property_inserted_tokens_never_survive(
    prefix: str, inserts: list[tuple[str, str, str, str]]
) -> None:
    parts = [prefix]
    for token, before, after, filler in inserts:
        parts += [before, token, after, filler]
    text = "".join(parts)
    out = redact(text)
    for token, *_ in inserts:
        if not placeholder_token(token):  # ghp_0000...: the allow-list lets placeholders through
            assert _secret_part(token) not in out, (token, out)
    assert redact(out) == out


FRAGMENTS = [
    *("token", "TOKEN", "_", "GITHUB", "password", "api_key", "apiKey", "Authorization", "secret"),
    *(
        "=",
        ": ",
        ":",
        '"',
        "'",
        "\\",
        "\\n",
        '\\"',
        " ",
        "\n",
        "\t",
        ",",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
    ),
    *("--", "-", "export ", "Bearer ", "$", "os.environ", "None", "self.", "xxxx", "é", "—", "😀"),
    *("[REDACTED:", "github-token", "secret-assignment", "://", "user", "@", "host", "/db"),
    *("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "MIIEow", "q8Zr" * 4),
    *("ghp_", "sk-", "AKIA", "xoxb-", "eyJ", ".", "A1b2" * 5, "Zq9", "0000", "hunter2Xq9"),
    GH,
    JWT,
    AWS_ID,
    SECRET,
]


@FAST
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_property_structured_text_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert not contains_secret(once)
    for f in find_secrets(text):
        assert 0 <= f.start < f.end <= len(text)
    for secret in (GH, JWT, AWS_ID):  # standing on its own (not glued to a word), it goes
        assert not re.search(rf"(?<![\w\\]){re.escape(secret)}(?!\w)", once)


@pytest.mark.parametrize(
    "text",
    [
        "sk-" * 15_000,
        "token" * 10_000 + "=x",
        "tokentoken_" * 4_000 + ": " + SECRET,
        "eyJ" * 15_000,
        "://a:" + "b@" * 20_000,
        ("-----BEGIN PRIVATE KEY-----\n" + "QUJD" * 20) * 800,
        "ghp_" * 10_000,
        "password=" * 6_000,
        "A" * 50_000,
        "@a" * 20_000,
        "key-" * 10_000 + "=1",
    ],
    ids=lambda t: repr(t[:12]),
)
def test_pathological_input_stays_linear(text: str) -> None:
    import time

    start = time.perf_counter()
    once = redact(text)
    assert redact(once) == once
    assert time.perf_counter() - start < 5  # bounded work per hit: well under a second
