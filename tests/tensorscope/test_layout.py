"""Structure checks: the library is Streamlit-free and its public surface is what docs/reference/api.md documents."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import tensorscope",
        "import tensorscope.results, tensorscope.analysis, tensorscope.report, tensorscope.run, tensorscope.units",
        "from tensorscope import load_results, ResultSet, Problem, format_value; import tensorscope.analysis.regressions",
    ],
)
def test_the_library_imports_no_streamlit_or_plotly(code: str) -> None:
    loaded = _modules_after(code)
    assert "streamlit" not in loaded and "plotly" not in loaded
    assert "dashboard" not in loaded  # nothing flows back from the app


def test_importing_the_package_alone_stays_light() -> None:
    """`tensorscope --help` must not pay for pandas and pyarrow: the public names load on first use."""
    loaded = _modules_after("import tensorscope")
    assert "pandas" not in loaded and "pyarrow" not in loaded


def test_public_names_resolve() -> None:
    import tensorscope

    for name in tensorscope.__all__:
        assert getattr(tensorscope, name) is not None
    assert tensorscope.format_value(1.2e-3, "seconds") == "1.2 ms"
    assert callable(tensorscope.analysis.regressions.detect_changes)
    with pytest.raises(AttributeError):
        _ = tensorscope.no_such_name  # type: ignore[attr-defined]
