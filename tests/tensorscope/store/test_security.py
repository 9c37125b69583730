"""Security of the store and its API, on a real server process over PostgreSQL: a token sees and writes
its own machine only, refused requests change nothing, tokens are kept as digests only; names carrying
SQL, HTML and terminal escapes are stored verbatim and shown inert by the API and the CLI; the embedded
store's files are private."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from asv_builder import ResultsTree, commit_date, commit_hash
from test_api_schema import Server, serve_postgresql
from test_store_server import call, counts, upload_body

from tensorscope.cli import main as cli
from tensorscope.store import open_store
from tensorscope.store import schema as s
from tensorscope.store.pgcluster import Cluster
from tensorscope.store.tokens import create, revoke

pytestmark = pytest.mark.xdist_group("store")

SQL = "bench_sec.time_x'); DROP TABLE results; --"
HTML = 'bench_sec.time_<script>alert("x")</script><img src=x onerror=alert(1)>'
ANSI = "bench_sec.time_\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil"
MACHINE = "box\x1b[31m<b>"  # a machine name is the token's: escapes and markup too
RAW_CONTROLS = (b"\x1b", b"\x07", b"\xc2\x9b", "\u202e".encode())


def hostile_tree(root: Path) -> ResultsTree:
    """Machine MACHINE, the three hostile benchmark names, 6 commits, each doubling at commit 3 (a regression)."""
    tree = ResultsTree(root)
    for name in (SQL, HTML, ANSI):
        tree.add_benchmark(name)
    tree.add_machine(MACHINE, cpu="<i>cpu</i>\x1b[2J")
    for i in range(6):
        slow = 2.0 if i >= 3 else 1.0
        tree.add_run(
            MACHINE, commit_hash(i), {name: [1e-3 * slow * (1 + 0.001 * (i % 2))] for name in (SQL, HTML, ANSI)}, date=commit_date(i)
        )
    return tree


@pytest.fixture(scope="module")
def pg_server(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """One server over PostgreSQL for the module."""
    yield from serve_postgresql(pg_cluster, tmp_path_factory.mktemp("security") / "server.log")


def raw_get(base: str, path: str, token: str | None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(base + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read(), r.headers.get("X-Content-Type-Options", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("X-Content-Type-Options", "")


def test_a_token_reads_and_writes_its_own_machine_only(pg_server: tuple[Server, str], tmp_path: Path) -> None:
    server, _ = pg_server
    tree = ResultsTree(tmp_path / "results")
    tree.add_benchmark("bench_a.time_x")
    tree.add_machine("alpha", cpu="Alpha CPU")
    tree.add_machine("beta", cpu="Beta CPU")
    for m in ("alpha", "beta"):
        tree.add_run(m, commit_hash(0), {"bench_a.time_x": [1e-3]}, date=commit_date(0))
    alpha_record, alpha = create(server.engine, "alpha")
    _, beta = create(server.engine, "beta")
    alpha_file = tmp_path / "results" / "alpha" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json"
    mjson = base64.b64encode((tmp_path / "results" / "alpha" / "machine.json").read_bytes()).decode()
    assert call(server.base, "POST", "/api/v1/uploads", upload_body(alpha_file, machine_json=mjson), alpha)[0] == 201
    before = counts(server.engine)

    # beta's token: alpha's listing is not beta's to see, alpha's name is not beta's to write
    assert call(server.base, "GET", "/api/v1/uploads", token=beta) == (200, {"uploads": {}})
    assert call(server.base, "POST", "/api/v1/uploads", {**upload_body(alpha_file), "machine": "alpha"}, beta)[0] == 403
    # a machine.json naming alpha, sent with beta's token, describes beta (the token's machine), never alpha
    claims_alpha = base64.b64encode(json.dumps({"machine": "alpha", "cpu": "forged", "version": 1}).encode()).decode()
    beta_file = tmp_path / "results" / "beta" / alpha_file.name
    assert call(server.base, "POST", "/api/v1/uploads", upload_body(beta_file, machine_json=claims_alpha), beta)[0] == 201
    with server.engine.connect() as conn:
        cpus = dict(conn.execute(sa.select(s.machines.c.name, s.machines.c.cpu).where(s.machines.c.name.in_(["alpha", "beta"]))).all())
        paths = set(conn.execute(sa.select(s.runs.c.path)).scalars())
    assert cpus == {"alpha": "Alpha CPU", "beta": "forged"}
    assert {p for p in paths if p.startswith(("alpha/", "beta/"))} == {f"alpha/{alpha_file.name}", f"beta/{beta_file.name}"}
    before = counts(server.engine)

    # no token, a malformed one, a revoked one: 401 on every operation, and nothing changes
    revoke(server.engine, alpha_record.id)
    for token in (None, "tsk_" + "A" * 43, alpha, alpha + " "):
        for method, body in (("GET", None), ("POST", upload_body(alpha_file))):
            status, answer = call(server.base, method, "/api/v1/uploads", body, token)
            assert status == 401 and "\n" not in answer["error"], (method, token, answer)
    assert counts(server.engine) == before

    # tokens are kept as SHA-256 digests only: the token text is nowhere in the database
    with server.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(sa.select(s.tokens)).all()]
    assert not any(alpha in cell or beta in cell for row in rows for cell in row)
    assert any(hashlib.sha256(alpha.encode()).hexdigest() in row for row in rows)


def test_hostile_names_are_stored_verbatim_and_shown_inert(
    pg_server: tuple[Server, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = pg_server
    tree = hostile_tree(tmp_path / "results")
    _, token = create(server.engine, MACHINE)
    token_file = tmp_path / "token"
    token_file.write_text(token)
    # pushed through the CLI and the API
    assert cli(["push", str(tree.root), "--to", server.base, "--token-file", str(token_file), "--machine", MACHINE]) == 0
    out = capsys.readouterr()
    assert "pushed 6 files" in out.out
    assert not any(c.decode() in out.out + out.err for c in RAW_CONTROLS), out

    # stored verbatim (the SQL text is data: every table is still there, each name one benchmark row)
    with server.engine.connect() as conn:
        names = set(conn.execute(sa.select(s.benchmarks.c.name)).scalars())
        machines = set(conn.execute(sa.select(s.machines.c.name)).scalars())
        cpu = conn.execute(sa.select(s.machines.c.cpu).where(s.machines.c.name == MACHINE)).scalar_one()
        assert sa.inspect(conn).has_table("results")
    assert {SQL, HTML, ANSI} <= names and MACHINE in machines and cpu == "<i>cpu</i>\x1b[2J"
    assert counts(server.engine)[2] >= 18

    # the API: every answer ASCII JSON, controls and markup escaped, not to be sniffed as HTML, and it decodes to the names
    status, raw, nosniff = raw_get(server.base, "/api/v1/uploads", token)
    assert status == 200 and nosniff == "nosniff"
    assert raw.isascii() and b"<" not in raw and not any(c in raw for c in RAW_CONTROLS)
    assert len(json.loads(raw)["uploads"]) == 6
    # a refusal that names the hostile machine: other content under a stored file's name (409)
    first, second = sorted(tree.root.joinpath(MACHINE).glob("*-virtualenv-py3.11.json"))[:2]
    bad = {**upload_body(second), "file_name": first.name}
    request = urllib.request.Request(server.base + "/api/v1/uploads", data=json.dumps(bad).encode(), method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    raw = refused.value.read()
    assert refused.value.code == 409 and raw.isascii() and b"<" not in raw and not any(c in raw for c in RAW_CONTROLS)
    assert "box\\x1b[31m<b>/" in json.loads(raw)["message"]  # the name escaped for a terminal, markup escaped by the JSON

    # the CLI on the store: the regressions are reported under their names, escaped, the markup as plain text
    code = cli(["report", "--store", server.url])
    text = capsys.readouterr().out
    assert code == 1, text
    assert not any(c.decode() in text for c in RAW_CONTROLS)
    assert "\\x1b]0;pwned" in text and "DROP TABLE results" in text and "<script>" in text
    assert cli(["token", "list", "--store", server.url]) == 0
    listed = capsys.readouterr().out
    assert "box\\x1b[31m<b>" in listed and "\x1b" not in listed


def test_the_default_embedded_store_is_private_even_where_it_existed_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store in the user's data folder (no --store): folder 0700, files 0600 under a permissive umask,
    and a store file left readable by others is made private when opened."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = tmp_path / "data" / "tensorscope"
    folder.mkdir(parents=True)
    (folder / "store.sqlite").touch(mode=0o644)
    os.chmod(folder / "store.sqlite", 0o644)
    old = os.umask(0o022)
    try:
        engine = open_store(None)
        with engine.begin() as conn:
            conn.execute(sa.insert(s.meta).values(key="probe", value="1"))
    finally:
        os.umask(old)
    try:
        files = sorted(p.name for p in folder.iterdir())
        assert {"store.sqlite", "store.sqlite-wal", "store.sqlite-shm"} <= set(files)
        for name in files:
            assert stat.S_IMODE((folder / name).stat().st_mode) & 0o077 == 0, name
        new_folder = tmp_path / "data2"
        monkeypatch.setenv("XDG_DATA_HOME", str(new_folder))
        old = os.umask(0o022)
        try:
            fresh = open_store(None)
            fresh.dispose()
        finally:
            os.umask(old)
        assert stat.S_IMODE((new_folder / "tensorscope").stat().st_mode) == 0o700
        assert stat.S_IMODE((new_folder / "tensorscope" / "store.sqlite").stat().st_mode) == 0o600
    finally:
        engine.dispose()
