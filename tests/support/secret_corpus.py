"""A synthetic corpus of planted secrets and harmless look-alikes, built at run time.

``positives(seed)`` are texts that each hold one or more secrets (``Sample.needles``: the parts
that must never be seen again after redaction); ``negatives(seed)`` are texts that look like
secrets but are not (a scanner that reports anything in them has a false positive).

Every token is assembled from a prefix and random characters when the corpus is built, so no
live-looking credential is ever written down in this repository (and GitHub's push protection
has nothing to object to). The same seed gives the same corpus.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
from dataclasses import dataclass, field

__all__ = ["Sample", "leaked", "negatives", "positives", "scanner_positives"]

_B62 = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"
_B64URL = _B62 + "-_"
_B64 = _B62 + "+/"


@dataclass(frozen=True)
class Sample:
    """A text in a context (``where``: prompt, command, result, thinking, text, edit)."""

    family: str
    text: str
    where: str = "result"
    needles: tuple[str, ...] = field(default=())


def _p(*parts: str) -> str:
    """Join prefix parts (kept apart in the source so that no scanner sees a whole token)."""
    return "".join(parts)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        # Mix classes like a real key (a random draw of 30+ characters nearly always does).
        while True:
            s = "".join(self.rng.choice(alphabet) for _ in range(n))
            if (
                alphabet != _B62
                or n < 12
                or (
                    any(c.isupper() for c in s)
                    and any(c.islower() for c in s)
                    and any(c.isdigit() for c in s)
                )
            ):
                return s

    def b62(self, n: int) -> str:
        return self.chars(_B62, n)

    def hex(self, n: int) -> str:
        return self.chars(_HEX, n)

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def password(self) -> str:
        """A human-chosen password: words, digits and a symbol."""
        words = ["Falcon", "river", "Orbit", "maple", "Quartz", "tundra", "Copper", "lantern"]
        return (
            self.rng.choice(words)
            + self.rng.choice("!#%&*+=?@^")
            + self.digits(3)
            + self.rng.choice(words).lower()
            + self.rng.choice("!#%&*+?")
        )

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(g: _Gen) -> tuple[str, str, str]:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(
        json.dumps(
            {"sub": g.digits(10), "name": g.b62(12), "iat": int(g.digits(10)), "jti": g.b62(16)}
        ).encode()
    )
    sig = g.chars(_B64URL, 43)
    return f"{header}.{payload}.{sig}", payload, sig


def _pem(g: _Gen, label: str, lines: int = 6) -> tuple[str, str]:
    body = "\n".join(g.chars(_B64, 64) for _ in range(lines))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----", body


def positives(seed: int = 11) -> list[Sample]:
    """Texts with planted secrets, across the gitleaks rule families (one or more each)."""
    g = _Gen(seed)
    out: list[Sample] = []

    def add(family: str, where: str, text: str, *needles: str) -> None:
        out.append(Sample(family, text, where, tuple(needles)))

    ghp = _p("gh", "p_") + g.b62(36)
    add("github-pat", "command", f"export GITHUB_TOKEN={ghp}\ngh auth status", ghp)
    ghp2 = _p("gh", "p_") + g.b62(36)
    add(
        "github-pat",
        "prompt",
        f"CI keeps failing with 401. I pasted the token {ghp2} into the repo settings, "
        "can you check the workflow?",
        ghp2,
    )
    fg = _p("github", "_pat_") + g.b62(22) + "_" + g.b62(59)
    add("github-fine-grained", "result", f'{{"token": "{fg}", "expires": "2026-12-01"}}', fg)
    gho = _p("gh", "o_") + g.b62(36)
    add(
        "github-oauth",
        "result",
        f"oauth_token: {gho}\n    user: octo\n    git_protocol: https",
        gho,
    )
    ghs = _p("gh", "s_") + g.b62(36)
    add(
        "github-app-in-url",
        "command",
        f"git clone https://x-access-token:{ghs}@github.com/acme/infra.git",
        ghs,
    )
    akia = _p("AK", "IA") + g.chars(string.ascii_uppercase + "234567", 16)
    aws_secret = g.chars(_B64, 40)
    add(
        "aws",
        "result",
        f"[default]\naws_access_key_id = {akia}\naws_secret_access_key = {aws_secret}\n"
        "region = eu-west-1",
        akia,
        aws_secret,
    )
    akia2 = _p("AK", "IA") + g.chars(string.ascii_uppercase + "234567", 16)
    add("aws-glued", "text", f"the policy was attached to keyid{akia2} yesterday", akia2)
    asia = _p("AS", "IA") + g.chars(string.ascii_uppercase + "234567", 16)
    sess = g.chars(_B64, 300)
    add(
        "aws-session",
        "result",
        f'{{"Credentials": {{"AccessKeyId": "{asia}", "SessionToken": "{sess}"}}}}',
        asia,
        sess,
    )
    xoxb = _p("xo", "xb-") + g.digits(12) + "-" + g.digits(13) + "-" + g.b62(24)
    add(
        "slack-bot",
        "command",
        f'curl -H "Authorization: Bearer {xoxb}" slack.com/api/auth.test',
        xoxb,
    )
    hook = f"T{g.b62(10).upper()}/B{g.b62(10).upper()}/{g.b62(24)}"
    add(
        "slack-webhook",
        "edit",
        f'WEBHOOK = "https://hooks.{"slack"}.com/services/{hook}"',
        hook.split("/")[-1],
    )
    sk_live = _p("sk", "_live_") + g.b62(24)
    add("stripe", "result", f"STRIPE_SECRET_KEY={sk_live}\nSTRIPE_MODE=live", sk_live)
    sk_live2 = _p("sk", "_live_") + g.b62(24)
    add(
        "stripe-glued",
        "thinking",
        f"The config has apikey{sk_live2} in the fixture file.",
        sk_live2,
    )
    rk = _p("rk", "_live_") + g.b62(24)
    add("stripe-restricted", "text", f"Use the restricted key {rk} for the reporting job.", rk)
    ant = _p("sk", "-ant-", "api03-") + g.chars(_B64URL, 93) + "AA"
    add("anthropic", "command", f"ANTHROPIC_API_KEY={ant} claude -p 'hello'", ant)
    oai = _p("sk", "-proj-") + g.chars(_B64URL, 100)
    add("openai-project", "result", f"OPENAI_API_KEY: {oai}", oai)
    oai_legacy = _p("sk", "-") + g.b62(20) + _p("T3Blbk", "FJ") + g.b62(20)
    add("openai-legacy", "prompt", f"here is my key {oai_legacy} please set it up", oai_legacy)
    aiza = _p("AI", "za") + g.chars(_B64URL, 35)
    add("google-api-key", "edit", f'const firebaseConfig = {{ apiKey: "{aiza}" }};', aiza)
    ya29 = _p("ya", "29.") + g.chars(_B64URL, 120)
    add(
        "google-oauth-access",
        "command",
        f'curl -H "Authorization: Bearer {ya29}" https://www.googleapis.com/drive/v3/files',
        ya29,
    )
    ya29b = _p("ya", "29.") + g.chars(_B64URL, 150)
    add("google-oauth-access", "result", f"access token: {ya29b}\nexpires_in: 3599", ya29b)
    gocspx = _p("GOC", "SPX-") + g.chars(_B64URL, 28)
    add("google-client-secret", "result", f'"client_secret":"{gocspx}"', gocspx)
    glpat = _p("gl", "pat-") + g.chars(_B64URL, 20)
    add(
        "gitlab",
        "command",
        f"git remote add origin https://oauth2:{glpat}@gitlab.com/a/b.git",
        glpat,
    )
    npm = _p("np", "m_") + g.b62(36)
    add("npm", "result", f"//registry.npmjs.org/:_authToken={npm}", npm)
    pypi = _p("pyp", "i-AgEIcHlwaS5vcmc") + g.chars(_B64URL, 120)
    add("pypi", "command", f"twine upload -u __token__ -p {pypi} dist/*", pypi)
    hf = _p("h", "f_") + g.chars(string.ascii_letters, 34)
    add("huggingface", "text", f"Set HF_TOKEN to {hf} before running the download.", hf)
    sg = _p("S", "G.") + g.chars(_B64URL, 22) + "." + g.chars(_B64URL, 43)
    add("sendgrid", "result", f"sendgrid api key created: {sg}", sg)
    sg2 = _p("S", "G.") + g.chars(_B64URL, 22) + "." + g.chars(_B64URL, 43)
    add("sendgrid", "edit", f"sg = SendGridAPIClient('{sg2}')", sg2)
    twilio = "SK" + g.hex(32)
    add("twilio", "result", f"TWILIO_API_KEY={twilio}", twilio)
    mailgun = _p("ke", "y-") + g.hex(32)
    add(
        "mailgun",
        "command",
        f"curl -s --user 'api:{mailgun}' https://api.mailgun.net/v3/x",
        mailgun,
    )
    dop = _p("do", "p_v1_") + g.hex(64)
    add("digitalocean", "command", f"doctl auth init -t {dop}", dop)
    shpat = _p("sh", "pat_") + g.hex(32)
    add("shopify", "result", f"X-Shopify-Access-Token: {shpat}", shpat)
    dapi = _p("da", "pi") + g.hex(32)
    add("databricks", "command", f"databricks configure --token <<< {dapi}", dapi)
    dckr = _p("dck", "r_pat_") + g.chars(_B64URL, 27)
    add(
        "docker-login", "command", f"docker login -u deploybot -p {dckr} registry.example.com", dckr
    )
    dpw = g.password()
    add("docker-login", "command", f"docker login --username ci --password '{dpw}' ghcr.io", dpw)
    hvs = _p("hv", "s.") + g.chars(_B64URL, 90)
    add(
        "vault",
        "result",
        f"Key                  Value\n---                  -----\ntoken                {hvs}",
        hvs,
    )
    age = _p("AGE-SEC", "RET-KEY-1") + g.chars("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
    add("age", "edit", f"# created: 2026-11-30\n{age}", age)
    pmak = _p("PM", "AK-") + g.hex(24) + "-" + g.hex(34)
    add("postman", "result", f"postman api key: {pmak}", pmak)
    lin = _p("lin", "_api_") + g.b62(40)
    add("linear", "command", f"export LINEAR_KEY={lin}", lin)
    pscale = _p("pscale", "_tkn_") + g.chars(_B64URL, 43)
    add("planetscale", "result", f"PLANETSCALE_SERVICE_TOKEN={pscale}", pscale)
    sbp = _p("sb", "p_") + g.hex(40)
    add("supabase", "text", f"I used the access token {sbp} for the CLI.", sbp)
    atlas = g.b62(14) + _p(".atl", "asv1.") + g.chars(_B64URL, 67)
    add(
        "terraform-cloud",
        "result",
        f'credentials "app.terraform.io" {{\n  token = "{atlas}"\n}}',
        atlas,
    )
    nrak = _p("NR", "AK-") + g.chars(string.ascii_uppercase + string.digits, 27)
    add("newrelic", "command", f"NEW_RELIC_API_KEY={nrak} ./deploy.sh", nrak)
    jwt, payload, sig = _jwt(g)
    add("jwt", "result", f'{{"access_token": "{jwt}", "token_type": "Bearer"}}', payload, sig)
    jwt2, payload2, sig2 = _jwt(g)
    add(
        "jwt-header",
        "command",
        f"curl -H 'Authorization: Bearer {jwt2}' localhost:8000/me",
        payload2,
        sig2,
    )
    rsa, rsa_body = _pem(g, _p("RSA PRIV", "ATE KEY"), 12)
    add("private-key", "result", rsa, *rsa_body.splitlines())
    ossh, ossh_body = _pem(g, _p("OPENSSH PRIV", "ATE KEY"), 7)
    add("private-key", "edit", ossh, *ossh_body.splitlines())
    ec_body = "\\n".join(g.chars(_B64, 64) for _ in range(3))
    add(
        "private-key-escaped",
        "result",
        f'{{"private_key": "-----BEGIN {_p("EC PRIV", "ATE KEY")}-----\\n{ec_body}\\n-----END '
        f'{_p("EC PRIV", "ATE KEY")}-----\\n"}}',
        *ec_body.split("\\n"),
    )
    pgpw = g.password()
    add("url-userinfo", "command", f"psql postgres://app:{pgpw}@db.internal:5432/app", pgpw)
    mongo_pw = g.b62(20)
    add(
        "url-userinfo",
        "result",
        f"MONGO_URL=mongodb+srv://admin:{mongo_pw}@cluster0.mongodb.net/x",
        mongo_pw,
    )
    redis_pw = g.b62(24)
    add("url-userinfo", "text", f"connect with redis://:{redis_pw}@cache:6379/0", redis_pw)
    cu = g.password()
    add("curl-u", "command", f"curl -u admin:{cu} https://jenkins.internal/api/json", cu)
    cu2 = g.b62(18)
    add("curl-u", "command", f"curl --user 'deploy:{cu2}' -X POST https://ci.internal/build", cu2)
    my = g.password().replace("'", "")
    add("mysql-p", "command", f"mysql -u root -p{my} -h 127.0.0.1 shop", my)
    my2 = g.b62(14)
    add(
        "mysql-password",
        "command",
        f"mysqldump --user=backup --password={my2} shop > dump.sql",
        my2,
    )
    ssh_pw = g.password()
    add("sshpass", "command", f"sshpass -p '{ssh_pw}' ssh deploy@10.0.0.5", ssh_pw)
    rc = g.b62(22)
    add("redis-cli-a", "command", f"redis-cli -h cache -a {rc} PING", rc)
    y1 = g.b62(32)
    y1b = g.b62(28)
    add(
        "yaml-literal",
        "edit",
        f"database:\n  host: db\n  password: |\n    {y1}\n    {y1b}\n  pool: 5",
        y1,
        y1b,
    )
    y2 = g.password()
    add("yaml-folded", "result", f"smtp:\n  user: mailer\n  secret: >-\n    {y2}\n  port: 587", y2)
    blob_pw = g.password()
    blob = base64.b64encode(f"svc-deploy:{blob_pw}".encode()).decode()
    add("base64-blob", "command", f"echo {blob} | base64 -d > ~/.netrc-creds", blob, blob_pw)
    blob2 = base64.b64encode(
        json.dumps({"username": "ci", "password": g.b62(24), "registry": "r.example"}).encode()
    ).decode()
    add("base64-blob", "command", f"echo '{blob2}' | base64 --decode | docker login --stdin", blob2)
    basic_pw = g.b62(16)
    basic = base64.b64encode(f"admin:{basic_pw}".encode()).decode()
    add(
        "basic-auth",
        "result",
        f"> GET /api HTTP/1.1\n> Authorization: Basic {basic}\n> Accept: */*",
        basic,
    )
    prose_pw = g.password()
    add(
        "prose-password",
        "prompt",
        f"the staging password is {prose_pw} - log in and check the admin page",
        prose_pw,
    )
    prose_pw2 = g.password()
    add("prose-password", "prompt", f"Try again, my password: {prose_pw2}", prose_pw2)
    prose_tok = g.b62(32)
    add("prose-token", "prompt", f"use this api token {prose_tok} for the staging API", prose_tok)
    env_pw = g.b62(20)
    add(
        "dotenv",
        "result",
        f"DEBUG=false\nDATABASE_PASSWORD={env_pw}\nDATABASE_HOST=localhost",
        env_pw,
    )
    cs = g.b62(40)
    add("json-client-secret", "result", f'{{"client_id": "web", "client_secret": "{cs}"}}', cs)
    azkey = g.chars(_B64, 86) + "=="
    add(
        "azure-storage",
        "result",
        f"DefaultEndpointsProtocol=https;AccountName=acmedata;AccountKey={azkey};"
        "EndpointSuffix=core.windows.net",
        azkey,
    )
    sas = g.chars(_B64URL, 43)
    add(
        "azure-sas",
        "command",
        f'az storage blob upload --sas-token "sv=2022-11-02&ss=b&srt=o&sp=rw&sig={sas}%3D" -f x',
        sas,
    )
    pw_env = g.password()
    add("pgpassword", "command", f"PGPASSWORD='{pw_env}' psql -h db -U app -c 'select 1'", pw_env)
    ps_key = g.b62(32)
    add("powershell-env", "command", f'$env:API_KEY = "{ps_key}"; .\\run.ps1', ps_key)
    netrc_pw = g.b62(20)
    add("netrc", "result", f"machine api.example.com login deploy password {netrc_pw}", netrc_pw)
    k8s = base64.b64encode(g.password().encode()).decode()
    add("k8s-secret", "edit", f"apiVersion: v1\nkind: Secret\ndata:\n  db-password: {k8s}\n", k8s)
    wget_pw = g.b62(15)
    add(
        "wget-password",
        "command",
        f"wget --user=ci --password={wget_pw} https://r.internal/a.tgz",
        wget_pw,
    )
    # A long text with a token near where a shortening cut would fall.
    filler = "The build log continues with ordinary output lines. " * 60
    ghp3 = _p("gh", "p_") + g.b62(36)
    add("long-text-token", "thinking", filler[:590] + f" token {ghp3} " + filler, ghp3)
    jwt3, payload3, sig3 = _jwt(g)
    add("long-text-jwt", "text", filler[:2470] + f" Bearer {jwt3} " + filler, payload3, sig3)
    long_arg = "x" * 190 + f" --token {ghp}"
    add("long-param", "command", long_arg + " --verbose", ghp)
    return out


def negatives(seed: int = 11) -> list[Sample]:
    """Texts with nothing secret in them that look like a secret to a careless rule."""
    g = _Gen(seed + 1)
    out: list[Sample] = []

    def add(family: str, text: str, where: str = "result") -> None:
        out.append(Sample(family, text, where))

    for _ in range(3):
        add("git-sha", f"commit {g.hex(40)}\nAuthor: CI <ci@noreply>\n\n    Fix flaky test")
    add("git-short-sha", f"{g.hex(7)} Merge pull request #42\n{g.hex(7)} Bump deps")
    add("git-rev-parse", f"$ git rev-parse HEAD\n{g.hex(40)}")
    add("uuid", f"session_id: {g.uuid()}\nrequest_id={g.uuid()}")
    add("uuid-json", f'{{"id": "{g.uuid()}", "parentUuid": "{g.uuid()}"}}')
    sha512 = base64.b64encode(hashlib.sha512(g.b62(10).encode()).digest()).decode()
    add("lockfile-integrity", f'"integrity": "sha512-{sha512}",')
    sha1 = base64.b64encode(hashlib.sha1(g.b62(10).encode()).digest()).decode()
    add(
        "lockfile-integrity",
        f'  integrity sha1-{sha1}\n  resolved "https://registry.yarnpkg.com/x"',
    )
    add("pip-hash", f"requests==2.32.3 \\\n    --hash=sha256:{g.hex(64)}")
    add("docker-digest", f"ghcr.io/acme/api@sha256:{g.hex(64)}")
    add("sha256sum", f"{g.hex(64)}  dist/app-1.2.3.tar.gz")
    add("md5", f"MD5 ({g.b62(6)}.zip) = {g.hex(32)}")
    add("token-call", "token = get_token()\nheaders = {'Authorization': f'Bearer {token}'}", "edit")
    add("password-annotation", "def login(user: str, password: str) -> Session:", "edit")
    add("password-env-ref", 'echo "$PASSWORD_DISPLAY" && export API_KEY="$API_KEY"', "command")
    add("secret-expr", "password = os.environ['DB_PASSWORD']\ntoken = settings.api_token", "edit")
    add(
        "gha-secret",
        "env:\n  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n  NPM_TOKEN: ${{ secrets.NPM }}",
        "edit",
    )
    add("bearer-var", 'curl -H "Authorization: Bearer $TOKEN" https://api.example.com', "command")
    add("css-colours", ".btn { color: #1a2b3c; background: #ff00aa; border-color: #abc; }", "edit")
    add(
        "long-path",
        "/usr/lib/python3.12/site-packages/google/cloud/secretmanager_v1/services/"
        "secret_manager_service/transports/grpc_asyncio.py:412",
    )
    add("windows-path", r"C:\Program Files\Microsoft Visual Studio\2022\BuildTools\VC\Tools\MSVC")
    png = base64.b64encode(
        b"\x89PNG\r\n\x1a\n" + bytes(g.rng.randrange(256) for _ in range(120))
    ).decode()
    add("image-base64", f'<img src="data:image/png;base64,{png}">', "edit")
    add("image-base64-raw", png)
    add("placeholder-slack", "SLACK_BOT_TOKEN=xoxb-your-bot-token-here", "edit")
    add("placeholder-slack-2", 'token: "xoxp-your-user-token"', "edit")
    add(
        "placeholder-github", "export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "text"
    )
    add("placeholder-stripe", "STRIPE_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX", "text")
    add("placeholder-angle", "API_KEY=<your-api-key>\nSECRET=<paste secret here>", "text")
    add("placeholder-changeme", "password: changeme\nadmin_password: CHANGE_ME", "edit")
    add("placeholder-example-word", "API_KEY=your-example-api-key-value", "text")
    add("placeholder-insert", 'client_secret: "<insert client secret>"', "edit")
    add("placeholder-your-token", 'TOKEN="your-token-here"', "text")
    add("placeholder-dots", "ANTHROPIC_API_KEY=sk-ant-...", "text")
    add("fetch-credentials", "fetch(url, { credentials: 'include', mode: 'cors' })", "edit")
    add("fetch-same-origin", 'const opts = { credentials: "same-origin", method: "POST" };', "edit")
    add("nsswitch", "passwd:         files systemd\ngroup:          files systemd", "result")
    add("kebab-task", "task-Runner-Build-2024-Release-Candidate finished in 4m", "result")
    add("kebab-model", "loaded mask-RCNN-R50-FPN-3x-Weights-Final from cache", "result")
    add("kebab-risk", "see risk-Assessment-2024-Q3-Final-Report-v2.pdf", "text")
    add("kebab-desk", "desk-Booking-Service-Prod-Deployment-7f9c2", "result")
    add("token-count", "usage: input_tokens=10234 output_tokens=512 max_tokens: 4096", "result")
    add("token-type", '{"token_type": "bearer", "expires_in": 3600}', "result")
    add(
        "password-stdin",
        'echo "$CR_PAT" | docker login ghcr.io -u octo --password-stdin',
        "command",
    )
    add("mysql-prompt", "mysql -u root -p shop < schema.sql", "command")
    add("ssh-port", "ssh -p 2222 deploy@host.example.com", "command")
    add("curl-u-env", 'curl -u "$JENKINS_USER:$JENKINS_TOKEN" https://ci/api', "command")
    add("url-no-password", "git clone https://octo@github.com/acme/repo.git", "command")
    add("url-plain", "pip install -i https://pypi.org/simple requests", "command")
    add(
        "prose-password-nonsecret",
        "the password is stored in the keychain, not in the repo",
        "prompt",
    )
    add("prose-password-incorrect", "It says the password is incorrect, why?", "prompt")
    add("prose-token-expired", "the token expired yesterday, so the job failed", "prompt")
    add("kube-get-secret", "kubectl get secret db-credentials -o yaml -n prod", "command")
    add("secret-name", "secretName: db-credentials\nsecretKeyRef:\n  key: password", "edit")
    add("cfn-type", "Type: AWS::IAM::AccessKey\nProperties:\n  UserName: !Ref CiUser", "edit")
    add("key-path", "private_key_path: ~/.ssh/id_ed25519\nidentity_file: /etc/ssh/host", "edit")
    pub, _ = _pem(g, "PUBLIC KEY", 4)
    add("public-key", pub)
    cert, _ = _pem(g, "CERTIFICATE", 8)
    add("certificate", cert)
    add("semver", "v2024.11.3-rc.1+build.5 released; see CHANGELOG", "result")
    add("image-tag", "ghcr.io/acme/app:sha-1a2b3c4 pulled", "result")
    add("pod-name", "web-7d4b9c8f6-x2z9q   1/1   Running   0   3h", "result")
    add("grep-password", 'grep -rn "password" src/ --include=*.py', "command")
    add("pytest-k", "pytest -k test_password_reset_token -q", "command")
    add("camel-class", "class AbstractSingletonProxyFactoryBeanTokenProvider: pass", "edit")
    add("hf-func", "from huggingface_hub import hf_hub_download, snapshot_download", "edit")
    add("npm-config", "npm_config_cache=/tmp/.npm npm ci", "command")
    add("prefix-mention", "GitHub tokens start with ghp_ and Slack bot tokens with xoxb-.", "text")
    add("sg-method", "SG.prototype.render = function () { return this.nodes; };", "edit")
    add("ya29-mention", "Google access tokens begin with ya29. and expire after an hour", "text")
    add("tf-key", 'backend "s3" {\n  key = "state/prod/terraform.tfstate"\n}', "edit")
    add("cache-key", 'cache_key: deps-v1-{{ checksum "poetry.lock" }}', "edit")
    add("header-name", 'API_KEY_HEADER = "X-API-Key"\nAUTH_HEADER = "Authorization"', "edit")
    add("password-reset-url", 'password_reset_url = "/accounts/password/reset/"', "edit")
    add("bcrypt-call", "password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())", "edit")
    add("secret-key-erb", 'secret_key_base: <%= ENV["SECRET_KEY_BASE"] %>', "edit")
    add("commit-subject", "Fix token refresh race in session middleware (#318)", "text")
    add("passwordless", "passwordless login via magic link; no password field", "text")
    add("hex-color-var", "$primary: #0f62fe;\n$token-spacing-05: 16px;", "edit")
    add("jwt-library", "import jwt\npayload = jwt.decode(token, key, algorithms=['HS256'])", "edit")
    add(
        "base64-text",
        f"echo {base64.b64encode(b'hello world from the build').decode()} | base64 -d",
        "command",
    )
    add("random-id", f"trace_id={g.hex(32)} span_id={g.hex(16)}", "result")
    add("nonce-test", f"nonce = {g.digits(12)}\nchecksum = {g.hex(40)}", "result")
    add("key-value", "key: value\nkeys: [a, b]\nmonkey: banana", "edit")
    add("authorized-keys", "cat ~/.ssh/authorized_keys | wc -l", "command")
    return out


def scanner_positives(seed: int = 11) -> list[Sample]:
    """Families only the second pass (the secret scanner) knows; our own rules let them by."""
    g = _Gen(seed + 2)
    out = []
    for family, token in (
        ("pulumi", _p("pu", "l-") + g.hex(40)),
        ("square", _p("sq0", "atp-") + g.chars(_B64URL, 22)),
        ("doppler", _p("dp", ".pt.") + g.b62(43)),
        ("shippo", _p("shippo", "_live_") + g.hex(40)),
        ("gitlab-trigger", _p("gl", "ptt-") + g.hex(40)),
    ):
        out.append(Sample(family, f"deploy with {token} now", "result", (token,)))
    return out


def leaked(needle: str, output: str, window: int = 10) -> bool:
    """Whether any ``window`` consecutive characters of ``needle`` (all of it when shorter)
    appear in ``output``."""
    if len(needle) <= window:
        return needle in output
    return any(needle[i : i + window] in output for i in range(len(needle) - window + 1))
