"""dashboard.charts: pure DataFrame -> plotly Figure functions, tested without Streamlit."""

from __future__ import annotations

import html
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import charts

EVIL = "<img src=x onerror=alert(1)>"


def _series(n: int = 8, step_at: int = 5) -> pd.DataFrame:
    values = [1.0 if i < step_at else 1.5 for i in range(n)]
    return pd.DataFrame(
        {
            "commit_order": range(n),
            "commit": [f"{i:040x}" for i in range(n)],
            "commit_date": pd.date_range("2025-01-01", periods=n, freq="D", tz="UTC"),
            "value": values,
            "ci_99_a": [v * 0.95 for v in values],
            "ci_99_b": [v * 1.05 for v in values],
        }
    )


def test_charts_module_does_not_import_streamlit() -> None:
    code = "import sys, dashboard.charts; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_series_figure_has_band_line_and_marked_step() -> None:
    fig = charts.series_figure(_series(), unit="seconds", step=(4, 5), step_label="1.5x slower")
    fills = [t for t in fig.data if getattr(t, "fill", None) == "toself"]
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(fills) == 1 and len(lines) == 1 and fills[0].mode == "lines"  # no stray markers at the band's corners
    assert list(lines[0].y) == [1.0] * 5 + [1.5] * 3
    shapes = fig.layout.shapes
    assert any(s.type == "rect" and s.x0 == 4 and s.x1 == 5 for s in shapes)
    assert any(s.type == "line" and s.x0 == 5 for s in shapes)
    assert "us" not in lines[0].hovertext[0] and "1 s" in lines[0].hovertext[0]


def test_series_figure_several_series_skips_non_finite_and_infinite_ci() -> None:
    frame = pd.concat([_series().assign(series="a"), _series().assign(series="b")])
    frame.loc[frame.index[0], "value"] = np.nan
    frame["ci_99_a"] = -math.inf  # asv writes Infinity when a CI is unknown
    fig = charts.series_figure(frame)
    assert [t.name for t in fig.data if t.mode == "lines+markers"] == ["a", "b"]
    assert not [t for t in fig.data if getattr(t, "fill", None) == "toself"]


def test_empty_inputs_give_a_message_not_an_error() -> None:
    empty = pd.DataFrame(columns=["commit_order", "value"])
    for fig in (
        charts.series_figure(empty),
        charts.distribution_figure(pd.DataFrame(columns=["label", "sample"])),
        charts.heatmap_figure(pd.DataFrame(columns=["op", "backend", "speedup"]), x="backend", y="op", z="speedup"),
        charts.curves_figure(pd.DataFrame(columns=["size", "value", "backend"])),
        charts.bar_figure(pd.DataFrame(columns=["x", "y"]), x="x", y="y"),
        charts.roofline_figure(pd.DataFrame(columns=["intensity", "throughput", "label", "group"])),
        charts.changes_figure(pd.DataFrame(columns=["label", "ratio"])),
    ):
        assert isinstance(fig, go.Figure)
        assert fig.layout.annotations and not fig.data


def test_heatmap_log_colour_scale_labels_real_values() -> None:
    frame = pd.DataFrame(
        {"op": ["exp", "exp", "add", "add"], "backend": ["numpy", "numba", "numpy", "numba"], "speedup": [100.0, 1000.0, 10.0, 0.5]}
    )
    fig = charts.heatmap_figure(frame, x="backend", y="op", z="speedup", z_label="speedup")
    (heat,) = fig.data
    assert list(heat.x) == ["numba", "numpy"] and list(heat.y) == ["add", "exp"]
    assert heat.z[1][0] == pytest.approx(3.0)  # log10(1000)
    assert heat.zmid == 0.0  # centred on 1x
    assert "1e+03" in heat.colorbar.ticktext or "1000" in "".join(heat.colorbar.ticktext)
    assert heat.text[0][0] == "0.5x"


def test_heatmap_drops_non_positive_values_on_log_scale() -> None:
    frame = pd.DataFrame({"op": ["a", "b"], "backend": ["x", "x"], "speedup": [0.0, 2.0]})
    fig = charts.heatmap_figure(frame, x="backend", y="op", z="speedup")
    assert list(fig.data[0].y) == ["b"]


def test_curves_are_log_log_with_crossovers() -> None:
    sizes = [10, 100, 1000, 10000]
    frame = pd.DataFrame(
        {
            "backend": ["numpy"] * 4 + ["numba"] * 4,
            "size": sizes * 2,
            "value": [1e-6 + s * 1e-9 for s in sizes] + [5e-6 + s * 2e-10 for s in sizes],
        }
    )
    cross = charts.crossover_points(frame)
    assert len(cross) == 1
    assert cross["label"].iloc[0] == "numba overtakes numpy"
    assert 1000 < cross["x"].iloc[0] < 10000
    fig = charts.curves_figure(frame, crossovers=cross, unit="seconds")
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == ["numba", "numpy", "crossover"]
    assert fig.data[1].hovertext[3] == "numpy<br>size 10,000<br>11 us"  # the one formatter, not 1.1e-05 or 0.0000


def test_crossover_needs_shared_sizes() -> None:
    frame = pd.DataFrame({"backend": ["a", "b"], "size": [1, 2], "value": [1.0, 2.0]})
    assert charts.crossover_points(frame).empty


def test_roofline_draws_roofs_and_points() -> None:
    points = pd.DataFrame({"intensity": [0.1, 10.0], "throughput": [1e9, 5e10], "label": ["add", "matmul"], "group": ["numpy", "numpy"]})
    fig = charts.roofline_figure(points, {"box": (1e10, 1e11)})
    roof, legend, scatter = fig.data
    assert max(roof.y) == pytest.approx(1e11)
    assert min(roof.y) == pytest.approx(1e10 * min(roof.x))
    assert legend.name == scatter.name == "numpy" and legend.legendgroup == scatter.legendgroup and not scatter.showlegend
    assert list(scatter.text) == ["add", "matmul"]
    assert list(scatter.marker.symbol) == ["circle", "circle"]
    assert fig.layout.xaxis.type == "log"


def test_roofline_marks_points_whose_data_fits_in_a_cache() -> None:
    points = pd.DataFrame(
        {"intensity": [0.1, 0.1], "throughput": [5e9, 1e9], "label": ["small", "large"], "group": ["numpy"] * 2, "in_cache": [True, False]}
    )
    fig = charts.roofline_figure(points, {"box": (1e10, 1e11)})
    scatter = next(t for t in fig.data if t.name == "numpy" and t.showlegend is False)
    assert list(scatter.marker.symbol) == ["diamond", "circle"]
    assert fig.data[-1].name.startswith("data fits in a cache") and fig.data[-1].marker.symbol == "diamond"


def test_titles_and_legends_never_share_space() -> None:
    """The title is pinned to the top of the figure and the legend to its bottom, each pushing
    the plot aside (automargin): a legend of many rows can no longer run into the title."""
    frame = pd.concat([_series().assign(series=f"a long series name number {i}") for i in range(12)])
    for fig in (charts.series_figure(frame, title="t"), charts.curves_figure(frame.assign(size=1, backend=frame["series"]), title="t")):
        assert fig.layout.title.yref == "container" and fig.layout.title.yanchor == "top" and fig.layout.title.automargin
        assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0 and fig.layout.legend.yanchor == "bottom"
    assert charts.series_figure(frame).layout.height > charts.series_figure(_series().assign(series="one")).layout.height


def test_heatmap_labels_exact_zeros_on_a_log_scale() -> None:
    frame = pd.DataFrame({"op": ["add", "add", "exp", "exp"], "backend": ["a", "b", "a", "b"], "err": [0.0, 0.0, 1e-7, 3e-7]})
    fig = charts.heatmap_figure(frame, x="backend", y="op", z="err", centre=None, text_format="{:.2g}", zero_text="exact")
    values, exact = fig.data
    assert values.text[0] == ["", ""] and values.text[1] == ["1e-07", "3e-07"]
    assert math.isnan(values.z[0][0]) and values.z[1][0] == pytest.approx(-7)
    assert [list(r) for r in exact.text] == [["exact", "exact"], ["", ""]] and not exact.showscale
    (only,) = charts.heatmap_figure(frame[frame["op"] == "exp"], x="backend", y="op", z="err", centre=None, zero_text="exact").data
    assert only.showscale
    assert list(charts.heatmap_figure(frame, x="backend", y="op", z="err").data[0].y) == ["exp"]  # without zero_text: left out


def test_bar_figure_with_error_bars_and_reference() -> None:
    frame = pd.DataFrame({"op": ["exp", "add"], "ratio": [2.0, 1.2], "lo": [1.8, 1.0], "hi": [2.3, 1.3]})
    fig = charts.bar_figure(frame, x="op", y="ratio", error_low="lo", error_high="hi")
    assert list(fig.data[0].error_y.array) == pytest.approx([0.3, 0.1])
    assert fig.layout.shapes[0].y0 == 1.0


def test_status_bar_and_changes_figure() -> None:
    bar = charts.status_html({"ok": 10_000, "skipped": 2, "failed": 0, EVIL: 1})
    assert "ok <b>10,000</b>" in bar and "skipped <b>2</b>" in bar and "failed <b>0</b>" in bar
    assert bar.count(" title=") == 3  # one segment per non-zero count
    assert "skipped <b>2</b> (&lt;0.1%)" in bar
    assert EVIL not in bar and html.escape(EVIL) in bar
    assert "<script" not in bar and "href" not in bar
    assert "flex:1;background:#eee" in charts.status_html({})  # nothing counted: an empty bar
    changes = charts.changes_figure(pd.DataFrame({"label": ["a", "b"], "ratio": [1.5, 0.5]}))
    assert list(changes.data[0].marker.color) == [charts.IMPROVEMENT_COLOUR, charts.REGRESSION_COLOUR]


def test_distribution_figure_one_box_per_label() -> None:
    samples = pd.DataFrame({"label": ["before"] * 3 + ["after"] * 3, "sample": [1, 1.1, 0.9, 2, 2.1, 1.9]})
    fig = charts.distribution_figure(samples)
    assert [t.name for t in fig.data] == ["before", "after"]


def test_names_from_results_are_inert_text() -> None:
    frame = pd.DataFrame({"op": [EVIL], "backend": [EVIL], "speedup": [2.0]})
    fig = charts.heatmap_figure(frame, x="backend", y="op", z="speedup", title=EVIL)
    assert fig.data[0].x[0] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<img" not in _text(fig) and "&lt;img" in _text(fig)
    series = _series().assign(series=EVIL, commit=EVIL)
    assert "<img" not in _text(charts.series_figure(series, title=EVIL))
    assert "<img" not in _text(charts.empty_figure(EVIL))


def _text(fig: go.Figure) -> str:
    """The figure as JSON text without plotly's \\u003c escaping (which would hide a raw "<")."""
    return json.dumps(json.loads(fig.to_json()))


def test_format_value_units() -> None:
    assert charts.format_value(2.5e-6, "seconds") == "2.5 us"
    assert charts.format_value(3 * 1024**2, "bytes") == "3 MiB"
    assert charts.format_value(float("nan"), "seconds") == "n/a"
    assert charts.format_value(4.0, "GFLOP/s") == "4 GFLOP/s"


def test_ordered_sorts_numbers_numerically() -> None:
    assert charts.ordered(["1000", "10", "abc", "100", "10"]) == ["10", "100", "1000", "abc"]


def test_horizontal_bars_for_long_labels() -> None:
    frame = pd.DataFrame({"label": ["a long benchmark name [size=1000]", "b"], "faster": [2.0, 0.5], "machine": ["m1", "m1"]})
    fig = charts.bar_figure(frame, x="label", y="faster", colour="machine", horizontal=True)
    assert fig.data[0].orientation == "h" and list(fig.data[0].x) == [2.0, 0.5]
    assert fig.layout.shapes[0].x0 == 1.0


def test_measure_name_of_no_benchmarks_is_empty_not_an_error() -> None:
    """The overview's change list with no change above the threshold (an empty frame) must not crash."""
    import pandas as pd

    from dashboard.app_pages._analysis import measure_name

    assert measure_name(pd.Series([], dtype="str")).empty
    named = measure_name(pd.Series(["b.X.time_op", "b.X.peakmem_op", "b.X.track_max_rel_error"]))
    assert named.tolist() == ["time", "peak memory", "max rel error"]


def test_changes_below_the_threshold_leave_an_empty_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only sub-threshold changes (0.2% memory steps): the overview's list is empty, not rows of NaN."""
    import pandas as pd

    from dashboard.app_pages import _analysis

    small = pd.DataFrame(
        {
            "series": ["m|e|b.X.peakmem_op|"],
            "commit_after": ["c" * 40],
            "kind": ["regression"],
            "factor": [1.0017],
            "machine": ["m"],
            "env": ["e"],
        }
    )
    monkeypatch.setattr(_analysis, "changes", lambda machines, envs: small)
    assert _analysis.changes_table([], []).empty


def test_regressions_show_the_newest_confirm_mark_of_their_series_and_commit() -> None:
    import pandas as pd

    from dashboard.app_pages._analysis import with_confirmations

    changes = pd.DataFrame({"series": ["m|e|b.t|", "m|e|b.u|", "m|e|b.t|"], "commit_after": ["a" * 40, "a" * 40, "b" * 40]})
    marks = pd.DataFrame(
        {
            "series": ["m|e|b.t|", "m|e|b.t|", "m|e|b.u|"],
            "commit_after": ["a" * 40, "a" * 40, "c" * 40],
            "mark": ["undecided", "confirmed", "refuted"],
            "measured_at": pd.to_datetime(["2026-12-01", "2026-12-02", "2026-12-02"], utc=True),
        }
    )
    shown = with_confirmations(changes, marks)
    assert shown["re-measured"].tolist() == ["confirmed", "", ""]  # newest mark; other commit ranges unmarked
    assert with_confirmations(changes, marks.iloc[:0])["re-measured"].tolist() == ["", "", ""]
