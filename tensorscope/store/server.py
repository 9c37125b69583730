"""``tensorscope server``: the upload API of a results store (Starlette under uvicorn).

Thin by design: it parses and authenticates a request, calls :func:`tensorscope.store.ingest.store_upload`
(the same reader and storage as ``tensorscope ingest``) and maps its outcome to a status:

==========================  ==========================================================================
``POST /api/v1/uploads``     one asv result file (with its machine.json, and benchmarks.json where it
                             changed), as JSON: ``{"file_name", "result", "machine_json"?, "benchmarks_json"?}``,
                             each file's bytes base64-encoded. 201 stored, 200 the same content again (same
                             id, no new rows), 409 other content under that name, 422 refused by the results
                             reader (one line saying why; nothing stored), 400 a malformed request, 401 no valid
                             token, 403 a token of another machine, 413 over the size limit, 503 the
                             database is unavailable (nothing stored; send again).
``GET /api/v1/uploads``      ``{"uploads": {file name: sha256}}``: the token's machine's result files (what ``push`` skips).
``GET /api/v1/health``       ``{"status": "ok"}``
``GET /openapi.json``        this API's OpenAPI description.
==========================  ==========================================================================

Authentication: ``Authorization: Bearer <token>`` (``tensorscope token create --machine NAME``).
Bound to 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Mapping
from typing import Any

import anyio
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse as _StarletteJSON
from starlette.routing import Route

from tensorscope.units import printable

from . import schema as s
from .cmd_ingest import add_store_argument
from .ingest import store_upload
from .tokens import Token, authenticate

DEFAULT_MAX_BODY = 64 * 2**20


class JSONResponse(_StarletteJSON):
    """JSON of ASCII only, with ``<``, ``>`` and ``&`` escaped too, never sniffed as another type: names
    from result files (terminal escapes, C1 controls, bidirectional overrides, markup) reach a terminal
    or a browser as inert ``\\uXXXX`` text, and decode to the names as stored."""

    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(content, status_code, {**(headers or {}), "X-Content-Type-Options": "nosniff"})

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("ascii")


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tensorscope results store upload API", "version": "1"},
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Upload": {
                "type": "object",
                "required": ["file_name", "result"],
                "additionalProperties": False,
                "properties": {
                    "file_name": {"type": "string", "description": "the result file's name, <commit>-<env>.json"},
                    "result": {"type": "string", "format": "byte", "description": "the result file's bytes, base64"},
                    "machine_json": {"type": "string", "format": "byte", "nullable": True},
                    "benchmarks_json": {"type": "string", "format": "byte", "nullable": True},
                    "machine": {"type": "string", "description": "optional: must be the token's machine"},
                },
            },
            "Outcome": {
                "type": "object",
                "required": ["message"],
                "properties": {"id": {"type": "integer", "nullable": True}, "message": {"type": "string"}, "results": {"type": "integer"}},
            },
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        },
    },
    "security": [{"token": []}],
    "paths": {
        "/api/v1/uploads": {
            "post": {
                "summary": "Upload one asv result file",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Upload"}}}},
                "responses": {
                    code: {"description": text, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
                    for code, text, schema in (
                        ("201", "stored", "Outcome"),
                        ("200", "the same content was already stored", "Outcome"),
                        ("400", "malformed request", "Error"),
                        ("401", "no valid token", "Error"),
                        ("403", "the token is another machine's", "Error"),
                        ("409", "other content is stored under that name", "Outcome"),
                        ("413", "request too large", "Error"),
                        ("422", "the results reader refused a file", "Outcome"),
                        ("503", "the store is unavailable (nothing was stored): send again later", "Error"),
                    )
                },
            },
            "get": {
                "summary": "The token's machine's stored files and their content digests",
                "responses": {
                    "200": {
                        "description": "stored files",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"uploads": {"type": "object", "additionalProperties": {"type": "string"}}},
                                }
                            }
                        },
                    },
                    "401": {
                        "description": "no valid token",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            },
        },
        "/api/v1/health": {
            "get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok", "content": {"application/json": {}}}}}
        },
    },
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(engine: sa.Engine, *, max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    """The ASGI app serving the upload API of the store behind ``engine``."""

    async def token_of(request: Request) -> Token | JSONResponse:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _error(401, "no token: send 'Authorization: Bearer <token>' (tensorscope token create --machine NAME)")
        token = await anyio.to_thread.run_sync(authenticate, engine, value.strip())
        if token is None:
            return _error(401, "unknown or revoked token")
        return token

    async def too_large(request: Request) -> JSONResponse:
        # read (and drop) a moderately oversized body so that the client, still sending, gets the
        # answer rather than a reset connection; a body far beyond is cut off at once
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) <= 4 * max_body:
            async for _ in request.stream():
                pass
        return _error(413, f"request body over the {max_body // 2**20} MiB limit")

    async def upload(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body):
            return await too_large(request)
        token = await token_of(request)
        if isinstance(token, JSONResponse):
            return token
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return _error(413, f"request body over the {max_body // 2**20} MiB limit")
        try:
            doc = json.loads(bytes(body))
        except (ValueError, RecursionError):
            return _error(400, 'the body is not JSON: send {"file_name": ..., "result": <base64>}')
        if not isinstance(doc, dict):
            return _error(400, "the body must be a JSON object")
        unknown = set(doc) - {"file_name", "result", "machine_json", "benchmarks_json", "machine"}
        if unknown:
            return _error(400, f"unknown fields: {', '.join(sorted(map(str, unknown)))[:200]}")
        if doc.get("machine") is not None and doc.get("machine") != token.machine:
            return _error(403, "this token uploads results of its own machine only")
        file_name = doc.get("file_name")
        if not isinstance(file_name, str):
            return _error(400, "'file_name' (a string) is required")
        files: dict[str, bytes | None] = {}
        for key in ("result", "machine_json", "benchmarks_json"):
            value = doc.get(key)
            if value is None:
                if key == "result":
                    return _error(400, "'result' (the result file, base64) is required")
                files[key] = None
                continue
            if not isinstance(value, str):
                return _error(400, f"'{key}' must be a base64 string")
            try:
                files[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return _error(400, f"'{key}' is not valid base64")
        result = files["result"]
        assert result is not None
        outcome = await anyio.to_thread.run_sync(
            lambda: store_upload(
                engine,
                token.machine,
                file_name,
                result,
                machine_json=files["machine_json"],
                benchmarks_json=files["benchmarks_json"],
                source=f"token:{token.id}",
            )
        )
        # names from the files are shown inert: one line, no character a terminal would act on
        message = printable(outcome.message)
        return JSONResponse({"id": outcome.upload_id, "message": message, "results": outcome.results}, status_code=outcome.status)

    async def uploads(request: Request) -> JSONResponse:
        token = await token_of(request)
        if isinstance(token, JSONResponse):
            return token

        def stored() -> dict[str, str]:
            prefix = token.machine + "/"
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(s.uploads.c.path, s.uploads.c.digest).where(
                        s.uploads.c.current.is_(True),
                        s.uploads.c.kind == "result",
                        s.uploads.c.path.startswith(prefix, autoescape=True),
                    )
                )
                return {r.path[len(prefix) :]: r.digest for r in rows}

        return JSONResponse({"uploads": await anyio.to_thread.run_sync(stored)})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(OPENAPI)

    async def uploads_route(request: Request) -> JSONResponse:
        # one route for both methods, so that a 405 lists both in its Allow header
        return await (upload(request) if request.method == "POST" else uploads(request))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        # 404 and 405 answer JSON with one line, like every other refusal (Starlette's default is plain text)
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"error": f"{exc.status_code} {exc.detail}: see /openapi.json"}, status_code=exc.status_code, headers=exc.headers
        )

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # the database went away (restarted, unreachable): the upload's transaction was rolled back, so
        # nothing of it is stored and sending it again is safe; push retries a 5xx with backoff. The
        # database's own message (host names, paths) goes to the operator's log, not to the client.
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        print(f"tensorscope server: store unavailable: {printable(first[0]) if first else type(exc).__name__}", file=sys.stderr, flush=True)
        return JSONResponse(
            {"error": "the store is unavailable: nothing was stored, send again later"}, status_code=503, headers={"Retry-After": "2"}
        )

    return Starlette(
        routes=[
            Route("/api/v1/uploads", uploads_route, methods=["GET", "POST"]),
            Route("/api/v1/health", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={
            HTTPException: http_error,
            sa.exc.OperationalError: store_unavailable,
            sa.exc.InterfaceError: store_unavailable,
        },
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``server`` subcommand's arguments."""
    add_store_argument(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--max-body-mb", type=int, default=DEFAULT_MAX_BODY // 2**20, help="largest request body in MiB (default 64)")


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted; 2 for a store that cannot be opened."""
    import uvicorn

    from . import StoreError, describe, open_store, store_url

    try:
        engine = open_store(args.store)
    except StoreError as exc:
        print(f"tensorscope server: {exc}", file=sys.stderr)
        return 2
    print(f"tensorscope server: {describe(store_url(args.store))} on http://{args.host}:{args.port}/api/v1/", file=sys.stderr, flush=True)
    uvicorn.run(create_app(engine, max_body=args.max_body_mb * 2**20), host=args.host, port=args.port, log_level="warning")
    return 0
