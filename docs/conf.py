"""Sphinx configuration of tensorscope's documentation (MyST Markdown, PyData theme).

Build: ``.venv/bin/sphinx-build -W --keep-going -n -b html docs docs/_build/html``
(``scripts/test`` does this, with warnings as errors and every internal reference checked).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docutils.nodes import Element
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the library documented is the checkout's, installed or not

project = "tensorscope"
author = "tensorscope contributors"
copyright = "2026, tensorscope contributors"  # noqa: A001 - Sphinx's setting name

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxarg.ext",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
smartquotes = False  # `--option` stays two hyphens, quotes stay straight: commands are copied from these pages
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](page.md#a-heading) links are checked like any other reference

# The API reference: what tensorscope.__all__ names, from the docstrings.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
# Types from other libraries have no documentation here to link to (no network for intersphinx).
nitpick_ignore_regex = [
    ("py:class", r"(pd|pandas|np|numpy|pa|pyarrow|os|pathlib|collections\.abc|typing|datetime|argparse)\..*"),
    ("py:class", r"(Path|DataFrame|Series|Any|Callable|Iterable|Mapping|Sequence|Literal|Direction|optional)"),
    ("py:class", r"[A-Za-z_.]*\b(NDArray|ArrayLike|PathLike|StrPath)\b.*"),
]

html_theme = "pydata_sphinx_theme"
html_title = "tensorscope"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": [],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False


# --- the API reference from docstrings written for `help()` as much as for Sphinx -------------

_BARE_UNDERSCORE = re.compile(r"(?<![`\w\\])([A-Za-z]\w*)_(?=[\s,.;:)])")  # `track_ unit`: not an RST link target


def _docstring(app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]) -> None:
    """Keep the layout of docstrings written as aligned plain text.

    The package docstrings of the results and analysis modules are column tables and indented lists
    for a terminal reader, not reStructuredText: shown as they are (a literal block) instead of being
    misparsed. Elsewhere a bare
    word ending in ``_`` (``a track_ unit``) is an RST link target; it is escaped.
    """
    if what == "module" and (name == "tensorscope.results" or name.startswith("tensorscope.analysis.")) and lines:
        lines[:] = ["::", "", *(f"    {line}" if line else "" for line in lines), ""]
        return
    lines[:] = [_BARE_UNDERSCORE.sub(r"\1\\_", line) for line in lines]


def _undocumented_module_reference(app: Sphinx, env: BuildEnvironment, node: Element, contnode: Element) -> Element | None:
    """A docstring's reference to a tensorscope module or name the API page does not document reads
    as code, not as a broken link (the API page documents only what ``tensorscope.__all__`` names)."""
    if node.get("refdomain") != "py" or not str(node.get("refdoc", "")).startswith("reference/api"):
        return None
    target = str(node.get("reftarget", ""))
    module = str(node.get("py:module") or "")
    if target.startswith(("tensorscope.", ".", "~")) or module.startswith("tensorscope"):
        return contnode
    return None


def setup(app: Sphinx) -> dict[str, bool]:
    app.connect("autodoc-process-docstring", _docstring)
    app.connect("missing-reference", _undocumented_module_reference)
    return {"parallel_read_safe": True}
