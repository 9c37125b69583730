"""The upload API against a real server process on 127.0.0.1 (no mocked HTTP), on both engines, and
``tensorscope push``: idempotent uploads (201/200/409), tokens, refusals as 4xx with one line and
nothing stored, the hostile corpus sent through the API."""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from asv_builder import commit_hash
from servers import free_port, start_server
from test_store_ingest import assert_same_results, small_tree

from tensorscope.cli import main as cli
from tensorscope.results import load_results
from tensorscope.store import load_store
from tensorscope.store import schema as s
from tensorscope.store.tokens import create, revoke

pytestmark = pytest.mark.xdist_group("store")


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[tuple[str, sa.Engine]]:
    running = start_server(store_url, tmp_path / "server.log")  # the store migrated before the server starts
    try:
        yield running.base, running.engine
    finally:
        running.stop()
        running.engine.dispose()


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def upload_body(path: Path, **extra: Any) -> dict[str, Any]:
    return {"file_name": path.name, "result": base64.b64encode(path.read_bytes()).decode(), **extra}


def counts(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in (s.uploads, s.runs, s.results))  # type: ignore[return-value]


def test_uploads_are_idempotent_by_content(server: tuple[str, sa.Engine], tmp_path: Path) -> None:
    base, engine = server
    tree = small_tree(tmp_path / "results")
    _, token = create(engine, "box")
    first = tree.root / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json"
    body = upload_body(first, machine_json=base64.b64encode((tree.root / "box" / "machine.json").read_bytes()).decode())
    status, answer = call(base, "POST", "/api/v1/uploads", body, token)
    assert status == 201 and answer["results"] == 5
    before = counts(engine)
    status, again = call(base, "POST", "/api/v1/uploads", body, token)
    assert (status, again["id"]) == (200, answer["id"])
    assert counts(engine) == before
    other = upload_body(tree.root / "box" / f"{commit_hash(1)[:8]}-virtualenv-py3.11.json")
    status, conflict = call(base, "POST", "/api/v1/uploads", {**other, "file_name": first.name}, token)
    assert status == 409 and "other content" in conflict["message"]
    assert counts(engine) == before
    status, listed = call(base, "GET", "/api/v1/uploads", token=token)
    assert status == 200 and set(listed["uploads"]) == {first.name}
    with engine.connect() as conn:
        assert conn.execute(sa.select(s.machines.c.cpu).where(s.machines.c.name == "box")).scalar() == "Xeon"


def test_tokens_and_refusals_change_nothing(server: tuple[str, sa.Engine], tmp_path: Path) -> None:
    base, engine = server
    tree = small_tree(tmp_path / "results", commits=2)
    record, token = create(engine, "box")
    _, arm_token = create(engine, "arm")
    good = upload_body(tree.root / "box" / f"{commit_hash(0)[:8]}-virtualenv-py3.11.json")
    before = counts(engine)
    refusals = [
        (call(base, "POST", "/api/v1/uploads", good), 401),
        (call(base, "POST", "/api/v1/uploads", good, "tsk_not-a-token"), 401),
        (call(base, "POST", "/api/v1/uploads", {**good, "machine": "box"}, arm_token), 403),
        (call(base, "POST", "/api/v1/uploads", raw=b"{nope", token=token), 400),
        (call(base, "POST", "/api/v1/uploads", [1, 2], token), 400),
        (call(base, "POST", "/api/v1/uploads", {**good, "result": "%%%"}, token), 400),
        (call(base, "POST", "/api/v1/uploads", {**good, "extra": 1}, token), 400),
        (call(base, "POST", "/api/v1/uploads", {**good, "file_name": "../../etc/x.json"}, token), 422),
        (call(base, "POST", "/api/v1/uploads", {**good, "result": base64.b64encode(b"not json").decode()}, token), 422),
        (call(base, "POST", "/api/v1/uploads", {**good, "machine_json": base64.b64encode(b"[1]").decode()}, token), 422),
        (call(base, "POST", "/api/v1/uploads", {**good, "result": base64.b64encode(b" " * (5 * 2**20)).decode()}, token), 413),
    ]
    for (status, answer), expected in refusals:
        assert status == expected, answer
        line = answer.get("error") or answer.get("message")
        assert isinstance(line, str) and line and "\n" not in line
    assert "not valid JSON" in refusals[8][0][1]["message"]
    assert counts(engine) == before
    revoke(engine, record.id)
    assert call(base, "POST", "/api/v1/uploads", good, token)[0] == 401
    assert counts(engine) == before


def test_the_hostile_corpus_through_the_api(server: tuple[str, sa.Engine], tmp_path: Path) -> None:
    """Every file of tests/hostile_corpus.py's tree sent to the API: a 2xx or a 4xx with one line, never a 5xx."""
    from hostile_corpus import all_cases

    base, engine = server
    root = tmp_path / "results"
    all_cases(root)
    tokens: dict[str, str] = {}
    statuses = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.json")):
            if path.name == "machine.json" or not path.is_file() or path.stat().st_size > 3 * 2**20:
                continue  # a FIFO (would block this client) or the 300 MB sparse file (413: tested above)
            try:
                folder.name.encode("utf-8")
            except UnicodeEncodeError:
                continue  # a folder name that is not UTF-8 cannot be a machine name in a request
            if folder.name not in tokens:
                tokens[folder.name] = create(engine, folder.name)[1]
            try:
                body = upload_body(path)
            except OSError:
                continue
            status, answer = call(base, "POST", "/api/v1/uploads", body, tokens[folder.name])
            statuses.append(status)
            assert status in (200, 201, 409, 413, 422), (path.name, status, answer)
            if status >= 400:
                assert "\n" not in (answer.get("error") or answer.get("message"))
    assert 201 in statuses and 422 in statuses


def test_push_sends_what_is_missing_and_resumes(server: tuple[str, sa.Engine], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, engine = server
    tree = small_tree(tmp_path / "results")
    _, token = create(engine, "box")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    # an interrupted push: two files were delivered before it stopped
    for path in sorted((tree.root / "box").glob("*-virtualenv-py3.11.json"))[:2]:
        assert call(base, "POST", "/api/v1/uploads", upload_body(path), token)[0] == 201
    assert cli(["push", str(tree.root), "--to", base, "--token-file", str(token_file), "--machine", "box"]) == 0
    assert "pushed 8 files of box, 2 already there, 0 not delivered" in capsys.readouterr().out
    assert cli(["push", str(tree.root), "--to", base, "--token-file", str(token_file), "--machine", "box"]) == 0
    assert "pushed 0 files of box, 10 already there" in capsys.readouterr().out
    only_box = load_results(tree.root)
    stored = load_store(engine)
    box = only_box.results[only_box.results["machine"].astype(str) == "box"].reset_index(drop=True)
    assert sorted(zip(box["series"].astype(str), box["commit"].astype(str), box["value"].fillna(-1), strict=True)) == sorted(
        zip(stored.results["series"].astype(str), stored.results["commit"].astype(str), stored.results["value"].fillna(-1), strict=True)
    )
    # another machine's folder with this token: refused, exit 1
    assert cli(["push", str(tree.root), "--to", base, "--token-file", str(token_file), "--machine", "arm"]) == 1
    assert "403" in capsys.readouterr().err


def test_push_to_no_server_retries_then_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = small_tree(tmp_path / "results", commits=1)
    token_file = tmp_path / "token"
    token_file.write_text("tsk_x")
    started = time.monotonic()
    code = cli(
        [
            "push",
            str(tree.root),
            "--to",
            f"http://127.0.0.1:{free_port()}",
            "--token-file",
            str(token_file),
            "--machine",
            "box",
            "--retries",
            "3",
        ]
    )
    assert code == 1
    assert time.monotonic() - started >= 1.5  # backoff 0.5 s then 1 s
    assert "not delivered after 3 tries" in capsys.readouterr().err


def test_openapi_description(server: tuple[str, sa.Engine]) -> None:
    base, _ = server
    with urllib.request.urlopen(base + "/openapi.json", timeout=10) as r:
        doc = json.loads(r.read())
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]["/api/v1/uploads"]["post"]["responses"]) == {"200", "201", "400", "401", "403", "409", "413", "422", "503"}


def test_store_written_by_the_api_reads_as_the_files(server: tuple[str, sa.Engine], tmp_path: Path) -> None:
    base, engine = server
    tree = small_tree(tmp_path / "results")
    for machine in ("box", "arm"):
        _, token = create(engine, machine)
        bench = base64.b64encode((tree.root / "benchmarks.json").read_bytes()).decode()
        mjson = base64.b64encode((tree.root / machine / "machine.json").read_bytes()).decode()
        for path in sorted((tree.root / machine).glob("*-virtualenv-py3.11.json")):
            assert call(base, "POST", "/api/v1/uploads", upload_body(path, machine_json=mjson, benchmarks_json=bench), token)[0] == 201
    (tree.root / "box" / "provenance").rename(tmp_path / "provenance-not-sent")
    assert_same_results(load_results(tree.root).results, load_store(engine).results)


# -- tensorscope run --push -------------------------------------------------------------------


def _fake_run(monkeypatch: pytest.MonkeyPatch, source: Path, project: Path, exit_code: int = 0) -> None:
    """``tensorscope run`` whose "asv run" copies ``source``'s box results into the project's results
    folder and exits with ``exit_code`` (no suite is run, no machine file is written)."""
    from tensorscope import run

    copy = (
        "import shutil, sys; "
        f"shutil.copy({str(source / 'benchmarks.json')!r}, {str(project / 'results')!r}); "
        f"shutil.copytree({str(source / 'box')!r}, {str(project / 'results' / 'box')!r}, dirs_exist_ok=True); "
        f"sys.exit({exit_code})"
    )
    monkeypatch.setattr(run, "asv_commands", lambda args, asv: [([sys.executable, "-c", copy], {})])
    monkeypatch.setattr(run, "register_machine", lambda details: project / "machine-file")
    monkeypatch.setattr(run, "machine_details", lambda name=None: {"machine": name or "box"})


@pytest.mark.parametrize("asv_exit", [0, 3])
def test_run_push_sends_the_runs_results_also_after_asv_failed(
    server: tuple[str, sa.Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], asv_exit: int
) -> None:
    base, engine = server
    source = small_tree(tmp_path / "source").root
    project = tmp_path / "project"
    (project / "results").mkdir(parents=True)
    (project / "asv.conf.json").write_text(json.dumps({"results_dir": "results"}))
    _fake_run(monkeypatch, source, project, asv_exit)
    _, token = create(engine, "box")
    (tmp_path / "token").write_text(token + "\n")
    argv = ["run", "--machine", "box", "--config", str(project / "asv.conf.json"), "--push", base, "--token-file", str(tmp_path / "token")]
    assert cli(argv) == asv_exit  # asv's failure wins; else the push's 0
    assert "pushed 10 files of box, 0 already there, 0 not delivered" in capsys.readouterr().out
    files = load_results(source)
    box = files.results[files.results["machine"].astype(str) == "box"]
    stored = load_store(engine).results
    assert len(stored) == len(box) > 0
    assert sorted(zip(stored["series"].astype(str), stored["commit"].astype(str), strict=True)) == sorted(
        zip(box["series"].astype(str), box["commit"].astype(str), strict=True)
    )


def test_run_push_checks_its_token_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tensorscope import run

    def never(args: object, asv: object) -> list[object]:
        raise AssertionError("asv was started")

    project = tmp_path / "project"
    project.mkdir()
    (project / "asv.conf.json").write_text(json.dumps({"results_dir": "results"}))
    monkeypatch.setattr(run, "asv_commands", never)
    monkeypatch.setattr(run, "machine_details", lambda name=None: {"machine": name or "box"})
    config = ["--config", str(project / "asv.conf.json"), "--machine", "box"]
    assert cli(["run", *config, "--push", "http://127.0.0.1:9"]) == 2
    assert "--push URL and --token-file FILE go together" in capsys.readouterr().err
    (tmp_path / "empty").write_text("  \n")
    assert cli(["run", *config, "--push", "http://127.0.0.1:9", "--token-file", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is empty" in err
    assert cli(["run", *config, "--push", "http://127.0.0.1:9", "--token-file", str(tmp_path / "missing")]) == 2
    assert "cannot read the token file" in capsys.readouterr().err
