"""The upload API tested from its own OpenAPI description (schemathesis) and with the hostile corpus,
against a real server process on 127.0.0.1 over a real PostgreSQL store: never a 5xx, every answer as
the description says, every refusal one line that changes nothing, and a hostile file stored exactly as
the results reader reads it (the rows it reads, or a 4xx with the reader's own reason and no row)."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from servers import Server, start_server
from test_store_server import call, counts, upload_body

from tensorscope.results import load_results
from tensorscope.store.pgcluster import Cluster
from tensorscope.store.server import OPENAPI
from tensorscope.store.tokens import create

pytestmark = pytest.mark.xdist_group("store")


def serve_postgresql(cluster: Cluster, log: Path) -> Iterator[tuple[Server, str]]:
    """A server over a new PostgreSQL database of ``cluster``, and a token of machine ``box``; stopped after."""
    server = start_server(cluster.new_database(), log)
    _, token = create(server.engine, "box")
    try:
        yield server, token
    finally:
        server.stop()
        server.engine.dispose()


@pytest.fixture(scope="module")
def pg_server(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """One server over PostgreSQL for the module."""
    yield from serve_postgresql(pg_cluster, tmp_path_factory.mktemp("api") / "server.log")


def test_the_served_description_is_the_one_tested(pg_server: tuple[Server, str]) -> None:
    server, _ = pg_server
    with urllib.request.urlopen(server.base + "/openapi.json", timeout=10) as r:
        assert json.loads(r.read()) == json.loads(json.dumps(OPENAPI))


# -- schemathesis: every operation, valid and invalid requests --------------------------------

# A schema-valid upload is any base64 text, almost never an asv result file: the results reader's 422 (and 409
# for a name already stored, 403 for another machine's name in "machine") are right answers to valid-looking requests.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {"expected-statuses": [200, 201, 403, 409, 422]}}})
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(OPENAPI)), config=CONFIG)


@schema.parametrize()
@hypothesis.settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same requests in every run: a failure reproduces
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_every_answer_is_as_described_and_refusals_store_nothing(case: schemathesis.Case, pg_server: tuple[Server, str]) -> None:
    """Schemathesis's checks (no 5xx, status codes, content types and bodies as described, invalid data
    refused, the token enforced) plus ours: a 4xx is one line, and nothing of it reaches the store."""
    server, token = pg_server
    before = counts(server.engine)
    response = case.call_and_validate(base_url=server.base, headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 400:
        answer = response.json()
        line = answer.get("error") or answer.get("message")
        assert isinstance(line, str) and line.strip() and "\n" not in line, answer
        assert counts(server.engine) == before, (response.status_code, answer)
    # random bytes are never an asv result file: nothing generated can be stored
    assert response.status_code not in (200, 201) or case.method == "GET", response.text


def test_bodies_schemathesis_does_not_make_are_refused_too(pg_server: tuple[Server, str]) -> None:
    """Bodies outside JSON altogether, wrong content types, a lying Content-Length, and other methods."""
    server, token = pg_server
    before = counts(server.engine)

    def send(method: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(server.base + "/api/v1/uploads", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, exc.read()
            except ConnectionResetError:  # uvicorn may close a request it refused before its line is read
                return exc.code, b""

    auth = {"Authorization": f"Bearer {token}"}
    cases = [
        ("POST", b"", auth, 400),
        ("POST", b"\xff\xfe\x00garbage", auth, 400),
        ("POST", b'"just a string"', auth, 400),
        ("POST", b'{"file_name": 7, "result": ""}', auth, 400),
        ("POST", b'{"file_name": "a-b.json", "result": 7}', auth, 400),
        ("POST", b'{"file_name": "a-b.json"}', auth, 400),
        ("POST", b"[" * 100_000 + b"]" * 100_000, auth, 400),
        ("POST", b'{"file_name": "a-b.json", "result": ""}', {**auth, "Content-Type": "text/plain"}, 422),
        ("POST", b"{}", {**auth, "Content-Length": "-5"}, 400),
        ("POST", b"{}", {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ("POST", b"{}", {"Authorization": "Bearer " + "x" * 10_000}, 401),
        ("PUT", b"{}", auth, 405),
        ("DELETE", None, auth, 405),
    ]
    for method, data, headers, expected in cases:
        status, raw = send(method, data, headers)
        assert status == expected, (method, data[:40] if data else data, headers, status, raw[:300])
        if headers.get("Content-Length", "0").startswith("-"):
            # refused by uvicorn's HTTP parser before the app sees it: its own one line of text
            assert raw.decode() in ("Invalid HTTP request received.", ""), raw  # "" when the connection was reset first
            continue
        answer = json.loads(raw)
        line = answer.get("error") or answer.get("message")
        assert isinstance(line, str) and line and "\n" not in line, answer
    assert counts(server.engine) == before


# -- the hostile corpus through the API: stored as the reader reads it, or refused -------------


def _reader_rows(path: Path, machine: str, where: Path) -> tuple[int, list[str]]:
    """What the results reader makes of this one file on its own: rows and problem lines."""
    if where.exists():
        shutil.rmtree(where)
    (where / "m").mkdir(parents=True)
    (where / "m" / path.name).write_bytes(path.read_bytes())
    read = load_results(where, cache_dir=where.parent / "cache")
    return len(read.results), [p.message for p in read.problems if p.path.endswith(path.name)]


def test_each_hostile_file_is_stored_as_read_or_refused_and_absent(pg_server: tuple[Server, str], tmp_path: Path) -> None:
    """Each result file of tests/hostile_corpus.py sent on its own: 201 with exactly the rows the results
    reader reads from it, or a 4xx whose one line carries the reader's reason, with no row added."""
    from hostile_corpus import all_cases

    root = tmp_path / "results"
    all_cases(root)
    server, _ = pg_server
    tokens: dict[str, str] = {}
    seen: dict[int, int] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            machine = folder.name.encode("utf-8").decode("utf-8")
        except UnicodeEncodeError:
            continue  # a folder name that is not UTF-8 cannot be sent as a machine name in JSON
        for path in sorted(folder.glob("*.json")):
            if path.name == "machine.json" or not path.is_file():
                continue  # FIFOs and devices are what a client cannot read; machine.json goes with a result
            if path.stat().st_size > 3 * 2**20:
                continue  # the 300 MB sparse file: over the server's 4 MiB limit (413, tested elsewhere)
            if machine not in tokens:
                tokens[machine] = create(server.engine, machine)[1]
            rows, problems = _reader_rows(path, machine, tmp_path / "one")
            before = counts(server.engine)
            status, answer = call(server.base, "POST", "/api/v1/uploads", upload_body(path), tokens[machine])
            seen[status] = seen.get(status, 0) + 1
            after = counts(server.engine)
            where = f"{machine!a}/{path.name!a}: {status} {answer}"
            if status == 201:
                assert after[2] - before[2] == rows == answer["results"], where
            else:
                assert status in (409, 422), where
                assert after == before, where
                line = answer["message"]
                assert "\n" not in line and line, where
                if status == 422 and rows:
                    # the one thing the reader reads and a store refuses: PostgreSQL text cannot hold NUL
                    assert "NUL character" in line, where
                elif status == 422:
                    assert problems, where
                    # the reader's own reason, made printable (a name may carry escapes)
                    assert any(p.split(":")[0][:40] in line or p[:40] in line for p in problems) or "not valid JSON" in line, where
    assert seen.get(201, 0) >= 10 and seen.get(422, 0) >= 8, seen
