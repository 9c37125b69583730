"""What the documentation promises about itself, checked without running anything slow.

* every ``tensorscope`` command shown in a page or the README parses with today's parser (the ones that
  can run offline are also run: test_docs_commands.py);
* no README paragraph is kept in the docs too, and the README holds no table of figures;
* every script in ``scripts/`` is described in the scripts reference;
* the index's common questions (issue #29's six) each link to the section that answers them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tensorscope.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.relative_to(DOCS).parts)
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<lang>\w*)\s*$")
ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block of a Markdown text."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = FENCE.match(lines[i])
        i += 1
        if not start:
            continue
        body = []
        while i < len(lines) and not lines[i].startswith(start["fence"]):
            body.append(lines[i])
            i += 1
        i += 1
        blocks.append((start["lang"], "\n".join(body)))
    return blocks


def shown_commands() -> list[tuple[str, list[str]]]:
    """(where, argv after ``tensorscope``) of every ``tensorscope`` command in a shell or YAML block."""
    found = []
    for page in [*PAGES, REPO / "README.md"]:
        where = str(page.relative_to(REPO))
        for lang, body in fenced_blocks(page.read_text(encoding="utf-8")):
            if lang not in ("bash", "sh", "yaml", ""):
                continue
            for line in body.replace("\\\n", " ").splitlines():
                for part in re.split(r"\s(?:&&|\|\||;)\s", line.strip()):
                    words = shlex.split(part, comments=True)
                    while words and ASSIGNMENT.match(words[0]):
                        words = words[1:]
                    if words[:1] == ["tensorscope"]:
                        found.append((where, words[1:]))
    return found


COMMANDS = shown_commands()


def test_the_pages_show_commands_of_every_kind() -> None:
    shown = {argv[0] for _, argv in COMMANDS if argv}
    assert {"run", "report", "compare", "confirm", "bisect", "dashboard", "ingest", "push"} <= shown, shown


@pytest.mark.parametrize(("where", "argv"), COMMANDS, ids=[f"{w}:{' '.join(a)[:60]}" for w, a in COMMANDS])
def test_shown_command_parses(where: str, argv: list[str]) -> None:
    """An option renamed or removed in the code fails here, on the page that still shows it."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{where}: `tensorscope {shlex.join(argv)}` is refused by the parser (exit {exc.code})")


def _prose(text: str) -> str:
    """Markdown without its fenced blocks and link targets: what a reader reads."""
    text = re.sub(r"^(`{3,}).*?^\1\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"\]\([^)]*\)", "]", text)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


RUN = 12  # words in a row: longer than a shared phrase ("an airspeed velocity (asv) suite"), shorter than a sentence


def test_no_readme_paragraph_is_kept_in_the_docs() -> None:
    """Issue #29: the README points into the docs; a paragraph kept in both drifts apart."""
    runs: dict[tuple[str, ...], str] = {}
    for page in PAGES:
        words = _words(_prose(page.read_text(encoding="utf-8")))
        for i in range(len(words) - RUN + 1):
            runs.setdefault(tuple(words[i : i + RUN]), str(page.relative_to(REPO)))
    readme = _prose((REPO / "README.md").read_text(encoding="utf-8"))
    shared = []
    for paragraph in re.split(r"\n\s*\n", readme):
        words = _words(paragraph)
        hits = {runs[tuple(words[i : i + RUN])] for i in range(len(words) - RUN + 1) if tuple(words[i : i + RUN]) in runs}
        if hits:
            shared.append(f"{paragraph.strip()[:70]!r} is also in {sorted(hits)}")
    assert not shared, "\n".join(shared)


def test_readme_holds_no_table_of_figures() -> None:
    """Trial counts and measured figures live in docs/validation, with their date, commit and command."""
    rows = [line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    figure = re.compile(r"^[~<>≈±+-]?\s*\d[\d.,/]*\s*(%|x|\u00d7|s|ms|\u00b5s|us|min)?$")  # 98.4%, 1,310x, 12/40, 2.1 ms
    with_figures = [row for row in rows if any(figure.match(cell.strip().strip("*`")) for cell in row.strip("|").split("|"))]
    assert not with_figures, with_figures


def test_every_script_is_described() -> None:
    described = (DOCS / "reference" / "scripts.md").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in (REPO / "scripts").iterdir() if p.is_file() and not p.name.startswith("."))
    assert scripts
    missing = [name for name in scripts if f"`scripts/{name}`" not in described]
    assert not missing, f"docs/reference/scripts.md does not say what these do: {missing}"


# Issue #29's questions, and what the section that answers each must say (from the issue and the CLI,
# not from the pages): a link that lands beside the answer fails.
QUESTIONS = {
    "gate a pull request": ["tensorscope compare", "exit", "markdown"],
    "exit codes": ["| 0 |", "| 1 |", "| 2 |", "| 3 |"],
    "environment shift": ["does not fail ci", "--fail-on-environment"],
    "add a backend": ["register", "tensorscope.backends"],
    "run on a gpu": ["--profile gpu", "torch:cuda"],
    "send results from another machine": ["tensorscope push", "token"],
}


def _slug(heading: str) -> str:
    """MyST's anchor of a heading (myst_heading_anchors): lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower()))


def _section(target: str) -> str:
    """The text a docs link (relative to docs/index.md) lands on: the whole page, or the heading's section."""
    path, _, anchor = target.partition("#")
    text = (DOCS / path).read_text(encoding="utf-8")
    if not anchor:
        return text
    lines = text.splitlines()
    for i, line in enumerate(lines):
        heading = re.match(r"^(#+)\s+(.*)$", line)
        if heading and _slug(heading[2]) == anchor:
            level = len(heading[1])
            end = next((j for j in range(i + 1, len(lines)) if re.match(rf"^#{{1,{level}}}\s", lines[j])), len(lines))
            return "\n".join(lines[i:end])
    raise AssertionError(f"docs/index.md links to {target}, which has no such heading")


def test_common_questions_link_to_their_answers() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "## Common questions" in index
    section = index.split("## Common questions", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n- ", section)[1:]
    asked = {}
    for item in items:
        question, _, answer = item.partition("?")
        link = re.search(r"\]\(([^)]+)\)", answer)
        assert link, f"no link answers {question!r}"
        asked[question.lower()] = link[1]
    for words, must_say in QUESTIONS.items():
        [target] = [link for question, link in asked.items() if words in question] or [None]
        assert target, f"the index's common questions do not ask how to {words!r}"
        landed = _section(target).lower().replace("*", "")
        missing = [text for text in must_say if text.lower() not in landed]
        assert not missing, f"{target} (the answer to {words!r}) does not say {missing}"


def test_the_api_page_documents_the_public_surface() -> None:
    """The page names its members by hand (module by module), so a name added to ``__all__`` must be added there."""
    import tensorscope
    import tensorscope.analysis

    page = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\.\. automodule:: ([\w.]+)", page))
    members = {name.strip() for line in re.findall(r":members: (.+)", page) for name in line.split(",")}
    for name in tensorscope.__all__:
        module = f"tensorscope.{name}"
        assert module in documented or name in members, f"docs/reference/api.md does not document tensorscope.{name}"
    for name in tensorscope.analysis.__all__:
        assert f"tensorscope.analysis.{name}" in documented, f"docs/reference/api.md does not document tensorscope.analysis.{name}"


def test_extras_named_in_the_docs_exist() -> None:
    """``pip install -e '.[torch,jax]'`` on a page installs what the page says: every extra it names exists."""
    import tomllib

    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"])
    named = set()
    for page in [*PAGES, REPO / "README.md"]:
        for group in re.findall(r"\.\[([\w,-]+)\]", page.read_text(encoding="utf-8")):
            named |= set(group.split(","))
    assert named, "the pages name no extra"
    assert named <= extras, f"extras named in the docs that pyproject.toml does not define: {sorted(named - extras)}"


_READ = re.compile(r"(?:environ\.get\(|environ\[|getenv\()\s*\"([A-Z][A-Z0-9_]+)\"")
_OURS = re.compile(r"\b(TENSORSCOPE_[A-Z0-9_]*[A-Z])\b")  # not an environment's name suffix (..._THREADS1)


def test_every_environment_variable_is_documented() -> None:
    """What the code reads from the environment, and every TENSORSCOPE_ variable it names, is on the page."""
    page = (DOCS / "reference" / "environment.md").read_text(encoding="utf-8")
    sources = [p for d in ("tensorscope", "dashboard", "backends", "benchmarks") for p in (REPO / d).rglob("*.py")]
    sources += [p for p in (REPO / "scripts").iterdir() if p.is_file()]
    names = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        names |= set(_READ.findall(text)) | set(_OURS.findall(text))
    assert {"TENSORSCOPE_PROFILE", "TENSORSCOPE_STORE", "XDG_CACHE_HOME"} <= names, "the scan finds what the code reads"
    missing = sorted(name for name in names if f"`{name}`" not in page)
    assert not missing, f"docs/reference/environment.md does not describe {missing}"


def test_readme_anchors_resolve() -> None:
    """The README is not built by Sphinx, so a ``page.md#anchor`` link there is checked here: the anchor is a
    heading of that page (the README is read on GitHub, which anchors headings only, not MyST's ``(label)=``)."""
    links = re.findall(r"\]\((docs/[^)#]+\.md)#([^)]+)\)", (REPO / "README.md").read_text(encoding="utf-8"))
    assert links, "the README links to a section of the docs"
    for path, anchor in links:
        headings = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", (REPO / path).read_text(encoding="utf-8"), flags=re.M)}
        assert anchor in headings, f"README links to {path}#{anchor}: that page has no such heading"


def test_every_built_in_backend_is_described() -> None:
    from backends._registry import builtin_names  # not known(): a plugin installed here is not ours to describe

    page = (DOCS / "concepts" / "backends.md").read_text(encoding="utf-8")
    missing = [name for name in builtin_names() if f"`{name}`" not in page]
    assert not missing, f"docs/concepts/backends.md does not describe the backends {missing}"


def test_the_catalog_size_stated_is_the_catalog_s() -> None:
    import backends

    for page in (REPO / "README.md", DOCS / "concepts" / "backends.md"):
        stated = {int(n) for n in re.findall(r"\b(\d+) operations\b", page.read_text(encoding="utf-8"))}
        assert stated == {len(backends.OPS)}, f"{page.relative_to(REPO)} says {stated} operations; the catalog has {len(backends.OPS)}"


_TOP = ("backends/", "benchmarks/", "tensorscope/", "dashboard/", "scripts/", "tests/", "docs/", "results/", ".ci/")


def test_repository_paths_named_in_the_docs_exist() -> None:
    """A file moved or renamed in the code leaves no page pointing at the old place."""
    missing = []
    for page in [*PAGES, REPO / "README.md"]:
        for path in re.findall(r"`([\w./-]+)`", page.read_text(encoding="utf-8")):
            if path.startswith(_TOP) and "*" not in path and not (REPO / path.split("::")[0]).exists():
                missing.append(f"{page.relative_to(REPO)}: {path}")
    assert not missing, missing
