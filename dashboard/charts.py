"""Plotly figures for the dashboard: pure functions ``DataFrame -> go.Figure``.

No Streamlit here: every function takes plain frames (the column names each one
needs are in its docstring), returns a figure, and is tested on its own. Every name
that came from a results file (benchmark, machine, backend, parameter) is passed
through :func:`inert` before it reaches the figure, so markup in a name is shown as
text: plotly.js understands a few HTML-like tags in labels and would otherwise act
on them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tensorscope import units

# A scatter trace with more points than this is drawn with WebGL.
WEBGL_POINTS = 5000
COLOURS = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#bab0ac",
)
REGRESSION_COLOUR = "#d62728"
EXACT_COLOUR = "#dcdcdc"
IMPROVEMENT_COLOUR = "#2ca02c"


def inert(value: object) -> str:
    """``value`` as text that plotly shows literally (``<b>`` stays ``<b>``, never bold)."""
    return html.escape(str(value), quote=True)


def _inert_list(values: Iterable[object]) -> list[str]:
    return [inert(v) for v in values]


def _base(title: str = "", *, height: int = 420) -> go.Figure:
    """An empty figure with the shared layout.

    The title sits at the top of the figure and the legend at its bottom, both in the
    figure's own ("container") coordinates with ``automargin``, so plotly makes room for
    each (a legend of many long series names wraps onto more rows and pushes the plot
    up) and neither can overlap the other or the plot, however many series there are.
    """
    fig = go.Figure()
    fig.update_layout(
        title={
            "text": inert(title),
            "x": 0,
            "xanchor": "left",
            "xref": "container",
            "y": 1,
            "yanchor": "top",
            "yref": "container",
            "pad": {"t": 10, "l": 10},
            "automargin": True,
        }
        if title
        else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yanchor": "bottom", "yref": "container"},
        hoverlabel={"namelength": -1},
    )
    return fig


def empty_figure(message: str, *, height: int = 300) -> go.Figure:
    """A blank figure carrying ``message`` in its middle (for views with nothing to draw)."""
    fig = _base(height=height)
    fig.add_annotation(text=inert(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 15})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _scatter(n_points: int) -> type[go.Scatter] | type[go.Scattergl]:
    return go.Scattergl if n_points > WEBGL_POINTS else go.Scatter


def _finite(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    values = pd.to_numeric(frame[column], errors="coerce")
    return frame[np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))]


def format_value(value: float, unit: str = "") -> str:
    """:func:`tensorscope.units.format_value`, with the unit made inert for plotly's HTML labels."""
    return inert(units.format_value(value, unit))


# --------------------------------------------------------------------------------------
# Series over commits


def series_figure(
    points: pd.DataFrame,
    *,
    unit: str = "",
    step: tuple[float, float] | None = None,
    step_label: str = "",
    title: str = "",
    log_y: bool = False,
) -> go.Figure:
    """One or more benchmark series over commits, with their 99% CI band.

    ``points`` columns: ``commit_order`` (x), ``value``; optional ``ci_99_a`` /
    ``ci_99_b`` (band), ``commit`` and ``commit_date`` (hover), ``series`` (one line
    each; default a single line). ``step`` = (last commit order before, first after)
    shades the commit range where a detected change happened.
    """
    if points.empty:
        return empty_figure("No measurements for this selection")
    n_series = points["series"].nunique() if "series" in points.columns else 1
    fig = _base(title, height=min(420 + 20 * max(0, n_series - 4), 1200))  # the legend (one row per series) below takes room
    frame = points.sort_values("commit_order")
    groups = frame.groupby("series", sort=True) if "series" in frame.columns else [("value", frame)]
    for i, (name, group) in enumerate(groups):
        colour = COLOURS[i % len(COLOURS)]
        ok = _finite(group, "value")
        hover = _hover_commits(ok, unit)
        trace = _scatter(len(ok))
        if {"ci_99_a", "ci_99_b"} <= set(ok.columns):
            band = ok.dropna(subset=["ci_99_a", "ci_99_b"])
            band = band[np.isfinite(band["ci_99_a"].astype(float)) & np.isfinite(band["ci_99_b"].astype(float))]
            if not band.empty:
                fig.add_trace(
                    trace(
                        x=list(band["commit_order"]) + list(band["commit_order"])[::-1],
                        y=list(band["ci_99_b"]) + list(band["ci_99_a"])[::-1],
                        fill="toself",
                        mode="lines",  # plotly's default would also mark every corner of the band
                        fillcolor=_rgba(colour, 0.18),
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        name=f"{inert(name)} CI",
                    )
                )
        fig.add_trace(
            trace(
                x=ok["commit_order"],
                y=ok["value"],
                mode="lines+markers",
                name=inert(name),
                line={"color": colour},
                marker={"size": 6},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    if step is not None:
        before, after = step
        fig.add_vrect(
            x0=before,
            x1=after,
            fillcolor=REGRESSION_COLOUR,
            opacity=0.15,
            line_width=0,
            annotation_text=inert(step_label or "change"),
            annotation_position="top left",
        )
        fig.add_vline(x=after, line={"color": REGRESSION_COLOUR, "dash": "dash", "width": 2})
    fig.update_layout(showlegend="series" in frame.columns)  # one unnamed line needs no legend
    fig.update_xaxes(title="commit (oldest → newest)")
    fig.update_yaxes(title=inert(unit), type="log" if log_y else "linear", rangemode="tozero" if not log_y else None)
    return fig


def _hover_commits(frame: pd.DataFrame, unit: str) -> list[str]:
    commits = frame["commit"].astype(str).str[:10] if "commit" in frame.columns else pd.Series("", index=frame.index)
    if "commit_date" in frame.columns:
        dates = pd.to_datetime(frame["commit_date"], utc=True, errors="coerce").dt.strftime("%Y-%m-%d %H:%M")
    else:
        dates = pd.Series("", index=frame.index)
    return [
        f"{inert(c)} {d if isinstance(d, str) else ''}<br>{format_value(float(v), unit)}"
        for c, d, v in zip(commits, dates, frame["value"], strict=True)
    ]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def distribution_figure(samples: pd.DataFrame, *, unit: str = "", title: str = "") -> go.Figure:
    """Raw sample distributions side by side (box with every point).

    ``samples`` columns: ``label`` (one box each, in order of appearance), ``sample``.
    """
    frame = _finite(samples, "sample") if not samples.empty else samples
    if frame.empty:
        return empty_figure("No raw samples recorded for this selection")
    fig = _base(title, height=360)
    for i, (label, group) in enumerate(frame.groupby("label", sort=False)):
        fig.add_trace(
            go.Box(
                y=group["sample"],
                name=inert(label),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={"color": COLOURS[i % len(COLOURS)], "size": 4},
            )
        )
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title=inert(unit))
    return fig


# --------------------------------------------------------------------------------------
# Speedups


def heatmap_figure(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    z: str,
    log: bool = True,
    z_label: str = "",
    title: str = "",
    text_format: str = "{:.3g}x",
    centre: float | None = 1.0,
    zero_text: str | None = None,
) -> go.Figure:
    """A heatmap of ``z`` over categories ``x`` x ``y``; ``log`` colours by log10(z).

    The colour bar is labelled in real values; each cell shows its value. With
    ``centre`` (default 1.0, "as fast as the baseline") a diverging scale is centred
    on it. A log scale cannot place 0: such cells are left out, unless ``zero_text``
    is given (e.g. "exact" for an error of 0), which labels them and gives them the
    lowest colour.
    """
    data = frame[[x, y, z]].copy()
    data[z] = pd.to_numeric(data[z], errors="coerce")
    if log:
        data = data[data[z] >= 0] if zero_text is not None else data[data[z] > 0]
    data = data.dropna(subset=[z])
    if data.empty:
        return empty_figure("Nothing to show for this selection")
    grid = data.pivot_table(index=y, columns=x, values=z, aggfunc="median", sort=True)
    values = grid.to_numpy(dtype=float)
    zero = (values == 0) if zero_text is not None else np.zeros(values.shape, dtype=bool)
    with np.errstate(divide="ignore"):
        colour = np.log10(values) if log else values.copy()
    text = [
        [("" if not math.isfinite(v) or z else text_format.format(v)) for v, z in zip(row, zrow, strict=True)]
        for row, zrow in zip(values, zero, strict=True)
    ]
    finite = colour[np.isfinite(colour)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    colour[zero] = np.nan  # drawn by a grey layer of their own below, never on the value scale
    colourbar: dict[str, Any] = {"title": {"text": inert(z_label or z)}}
    kwargs: dict[str, Any] = {}
    if centre is not None:
        mid = math.log10(centre) if log else centre
        span = max(abs(zmax - mid), abs(mid - zmin), 1e-9)
        kwargs = {"zmid": mid, "zmin": mid - span, "zmax": mid + span, "colorscale": "RdBu"}
        zmin, zmax = mid - span, mid + span
    else:
        kwargs = {"colorscale": "Viridis"}
    if log:
        lo, hi = math.ceil(zmin), math.floor(zmax)
        ticks: list[float] = list(range(lo, hi + 1)) if hi - lo <= 12 else list(np.linspace(lo, hi, 8))
        if len(ticks) < 2:  # less than a decade: label the ends and the middle
            ticks = list(np.linspace(zmin, zmax, 3)) if zmax > zmin else [zmin]
        colourbar.update(tickvals=ticks, ticktext=[_pow10_label(t) for t in ticks])
    fig = _base(title, height=max(320, 28 * len(grid.index) + 140))
    fig.add_trace(
        go.Heatmap(
            z=colour,
            x=_inert_list(grid.columns),
            y=_inert_list(grid.index),
            text=text,
            texttemplate="%{text}",
            customdata=values,
            hovertemplate=f"%{{y}} · %{{x}}<br>{inert(z_label or z)}: %{{customdata:.4g}}<extra></extra>",
            colorbar=colourbar,
            showscale=bool(finite.size),  # all cells exact: no scale to read
            **kwargs,
        )
    )
    if zero.any():
        fig.add_trace(
            go.Heatmap(
                z=np.where(zero, 1.0, np.nan),
                x=_inert_list(grid.columns),
                y=_inert_list(grid.index),
                text=np.where(zero, inert(zero_text or ""), ""),
                texttemplate="%{text}",
                colorscale=[[0, EXACT_COLOUR], [1, EXACT_COLOUR]],
                showscale=False,
                hovertemplate=f"%{{y}} · %{{x}}<br>{inert(zero_text)} (0)<extra></extra>",
                name=inert(zero_text),
            )
        )
    fig.update_xaxes(type="category", side="top", automargin=True)
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    return fig


def _pow10_label(exponent: float) -> str:
    value = 10**exponent
    return f"{value:.3g}"


def curves_figure(
    frame: pd.DataFrame,
    *,
    x: str = "size",
    y: str = "value",
    series: str = "backend",
    crossovers: pd.DataFrame | None = None,
    unit: str = "",
    x_title: str = "size",
    title: str = "",
    log_x: bool = True,
    log_y: bool = True,
) -> go.Figure:
    """One line per ``series`` of ``y`` against numeric ``x`` (log-log by default).

    ``crossovers`` (optional) columns: ``x``, ``y``, ``label``: marked with a cross and
    their label, e.g. "numba overtakes numpy".
    """
    data = frame[[x, y, series]].copy()
    data[x] = pd.to_numeric(data[x], errors="coerce")
    data[y] = pd.to_numeric(data[y], errors="coerce")
    data = data.dropna()
    if log_x:
        data = data[data[x] > 0]
    if log_y:
        data = data[data[y] > 0]
    if data.empty:
        return empty_figure("No numeric sizes to draw for this selection")
    fig = _base(title)
    for i, (name, group) in enumerate(data.groupby(series, sort=True)):
        group = group.groupby(x, as_index=False)[y].median().sort_values(by=x)  # type: ignore[call-overload]  # a DataFrame here; pandas-stubs types it as Series
        fig.add_trace(
            go.Scatter(
                x=group[x],
                y=group[y],
                mode="lines+markers",
                name=inert(name),
                line={"color": COLOURS[i % len(COLOURS)]},
                hovertext=[
                    f"{inert(name)}<br>{inert(x_title)} {v:,.6g}<br>{format_value(t, unit)}"
                    for v, t in zip(group[x], group[y], strict=True)
                ],
                hoverinfo="text",
            )
        )
    if crossovers is not None and not crossovers.empty:
        fig.add_trace(
            go.Scatter(
                x=crossovers["x"],
                y=crossovers["y"],
                mode="markers+text",
                marker={"symbol": "x", "size": 13, "color": "black"},
                text=_inert_list(crossovers["label"]),
                textposition="top center",
                name="crossover",
                hovertemplate="%{text}<br>at %{x:.4g}<extra></extra>",
            )
        )
    fig.update_xaxes(title=inert(x_title), type="log" if log_x else "linear")
    fig.update_yaxes(title=inert(unit), type="log" if log_y else "linear")
    return fig


def crossover_points(frame: pd.DataFrame, *, x: str = "size", y: str = "value", series: str = "backend") -> pd.DataFrame:
    """Where two series' curves cross, interpolated on log-log axes.

    Returns columns ``x``, ``y``, ``label`` ("A overtakes B": A is faster beyond ``x``).
    Pure arithmetic on already-aggregated points, used to mark a figure.
    """
    data = frame[[x, y, series]].copy()
    data[x] = pd.to_numeric(data[x], errors="coerce")
    data[y] = pd.to_numeric(data[y], errors="coerce")
    data = data[(data[x] > 0) & (data[y] > 0)].dropna()
    curves = {str(name): g.groupby(x)[y].median().sort_index() for name, g in data.groupby(series, sort=True)}
    rows: list[dict[str, Any]] = []
    names = sorted(curves)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            joint = pd.concat([curves[a], curves[b]], axis=1, keys=["a", "b"], join="inner").dropna()
            if len(joint) < 2:
                continue
            lx = np.log10(joint.index.to_numpy(dtype=float))
            diff = np.log10(joint["a"].to_numpy(dtype=float)) - np.log10(joint["b"].to_numpy(dtype=float))
            ly_a = np.log10(joint["a"].to_numpy(dtype=float))
            for k in range(len(diff) - 1):
                d0, d1 = diff[k], diff[k + 1]
                if d0 == 0 or d0 * d1 >= 0:
                    continue
                t = d0 / (d0 - d1)
                cx = lx[k] + t * (lx[k + 1] - lx[k])
                cy = ly_a[k] + t * (ly_a[k + 1] - ly_a[k])
                faster_after = a if d1 < 0 else b
                slower_after = b if faster_after == a else a
                rows.append({"x": 10**cx, "y": 10**cy, "label": f"{faster_after} overtakes {slower_after}"})
    return pd.DataFrame(rows, columns=["x", "y", "label"])


def bar_figure(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    colour: str | None = None,
    log_y: bool = True,
    reference: float | None = 1.0,
    y_title: str = "",
    title: str = "",
    error_low: str | None = None,
    error_high: str | None = None,
    horizontal: bool = False,
) -> go.Figure:
    """Grouped bars of ``y`` per ``x`` (and per ``colour``), with a dashed ``reference`` line.

    ``error_low`` / ``error_high`` name columns with the bounds of an interval around ``y``.
    ``horizontal`` lays the categories down the side (for many or long labels).
    """
    if frame.empty:
        return empty_figure("Nothing to compare for this selection")
    if horizontal:
        return _horizontal_bars(frame, x=x, y=y, colour=colour, log_y=log_y, reference=reference, y_title=y_title, title=title)
    fig = _base(title)
    groups = frame.groupby(colour, sort=True) if colour else [("", frame)]
    for i, (name, group) in enumerate(groups):
        error = None
        if error_low and error_high and {error_low, error_high} <= set(group.columns):
            error = {
                "type": "data",
                "symmetric": False,
                "array": (group[error_high] - group[y]).clip(lower=0),
                "arrayminus": (group[y] - group[error_low]).clip(lower=0),
            }
        fig.add_trace(
            go.Bar(
                x=_inert_list(group[x]),
                y=group[y],
                name=inert(name) if colour else inert(y_title or y),
                marker={"color": COLOURS[i % len(COLOURS)]},
                error_y=error,
                hovertemplate=f"{inert(name)} %{{x}}<br>%{{y:.4g}}<extra></extra>" if colour else "%{x}<br>%{y:.4g}<extra></extra>",
            )
        )
    if reference is not None:
        fig.add_hline(y=reference, line={"dash": "dash", "color": "grey"})
    fig.update_layout(barmode="group", showlegend=bool(colour))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=inert(y_title or y), type="log" if log_y else "linear")
    return fig


def _horizontal_bars(
    frame: pd.DataFrame, *, x: str, y: str, colour: str | None, log_y: bool, reference: float | None, y_title: str, title: str
) -> go.Figure:
    n_categories = frame[x].nunique()
    n_groups = frame[colour].nunique() if colour else 1
    fig = _base(title, height=min(4000, max(300, 16 * n_categories * max(1, n_groups) + 140)))
    groups = frame.groupby(colour, sort=True) if colour else [("", frame)]
    for i, (name, group) in enumerate(groups):
        fig.add_trace(
            go.Bar(
                y=_inert_list(group[x]),
                x=group[y],
                orientation="h",
                name=inert(name) if colour else inert(y_title or y),
                marker={"color": COLOURS[i % len(COLOURS)]},
                hovertemplate="%{y}<br>%{x:.4g}<extra></extra>",
            )
        )
    if reference is not None:
        fig.add_vline(x=reference, line={"dash": "dash", "color": "grey"})
    fig.update_layout(barmode="group", showlegend=bool(colour))
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    fig.update_xaxes(title=inert(y_title or y), type="log" if log_y else "linear", side="top")
    return fig


# --------------------------------------------------------------------------------------
# Roofline


def roofline_figure(
    points: pd.DataFrame,
    roofs: Mapping[str, tuple[float, float]] | None = None,
    *,
    title: str = "",
) -> go.Figure:
    """Ops placed by arithmetic intensity (FLOP/byte) and achieved FLOP/s under the roofs.

    ``points`` columns: ``intensity``, ``throughput`` (FLOP/s), ``label`` (hover),
    ``group`` (colour, e.g. backend); optional ``in_cache`` (bool): such points (data
    that fits in a cache, which the DRAM roof does not bound) are drawn as diamonds.
    ``roofs`` maps a name to ``(memory bandwidth bytes/s, peak FLOP/s)``: each draws
    ``min(peak, bw x I)``.
    """
    data = points.copy()
    for column in ("intensity", "throughput"):
        data[column] = pd.to_numeric(data[column], errors="coerce")
    data = data[(data["intensity"] > 0) & (data["throughput"] > 0)].dropna(subset=["intensity", "throughput"])
    if data.empty:
        return empty_figure("No op with a known cost model and a measured time in this selection")
    fig = _base(title, height=520)
    lo = float(data["intensity"].min()) / 4
    hi = float(data["intensity"].max()) * 4
    for i, (machine, (bandwidth, peak)) in enumerate(sorted((roofs or {}).items())):
        if not (bandwidth and peak and bandwidth > 0 and peak > 0):
            continue
        ridge = peak / bandwidth
        xs = np.geomspace(min(lo, ridge / 8), max(hi, ridge * 8), 64)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=np.minimum(peak, bandwidth * xs),
                mode="lines",
                line={"color": "black" if i == 0 else COLOURS[(i + 5) % len(COLOURS)], "width": 2},
                name=f"roof: {inert(machine)}",
                hovertemplate=(f"{inert(machine)}<br>I=%{{x:.3g}} FLOP/B<br>roof %{{y:.3s}}FLOP/s<extra></extra>"),
            )
        )
    in_cache = data["in_cache"].fillna(False).astype(bool) if "in_cache" in data.columns else pd.Series(False, index=data.index)
    for i, (group, rows) in enumerate(data.groupby("group", sort=True)):
        colour = COLOURS[i % len(COLOURS)]
        # the legend entry is a plain circle; the points below it may be circles or diamonds
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="markers", name=inert(group), legendgroup=inert(group), marker={"color": colour, "size": 9})
        )
        cached = in_cache.loc[rows.index]
        fig.add_trace(
            go.Scatter(
                x=rows["intensity"],
                y=rows["throughput"],
                mode="markers",
                name=inert(group),
                legendgroup=inert(group),
                showlegend=False,
                marker={
                    "color": colour,
                    "size": 9,
                    "symbol": np.where(cached, "diamond", "circle"),
                    "line": {"width": 0.5, "color": "white"},
                },
                text=_inert_list(rows["label"]),
                hovertemplate="%{text}<br>I=%{x:.3g} FLOP/B<br>%{y:.3s}FLOP/s<extra></extra>",
            )
        )
    if in_cache.any():  # a legend entry for the shape itself
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"symbol": "diamond", "color": "grey", "size": 9},
                name="data fits in a cache (not bound by the DRAM roof)",
            )
        )
    fig.update_xaxes(title="arithmetic intensity (FLOP / byte)", type="log")
    fig.update_yaxes(title="achieved FLOP/s", type="log", exponentformat="SI")
    return fig


# --------------------------------------------------------------------------------------
# Overview


STATUS_COLOURS = {"ok": IMPROVEMENT_COLOUR, "skipped": "#bab0ac", "failed": REGRESSION_COLOUR}


def status_html(counts: Mapping[str, int] | pd.Series) -> str:
    """ok / skipped / failed result counts as one stacked bar with a legend, in plain HTML.

    The Overview shows this instead of a plotly figure: it is the only chart there, and
    drawing it with plotly would make every new visitor's browser fetch and compile
    plotly.js (4.6 MB, about a second of main-thread time) before the first page is up.
    Labels are escaped; the HTML has no script and no links (st.html also sanitises it).
    """
    order = ["ok", "skipped", "failed"]
    items = [(k, int(counts.get(k, 0))) for k in order] + [(str(k), int(v)) for k, v in dict(counts).items() if k not in order]
    total = sum(v for _, v in items)
    colour = {k: STATUS_COLOURS.get(k, COLOURS[i % len(COLOURS)]) for i, (k, _) in enumerate(items)}

    def share(value: int) -> str:
        if not total or not value:
            return "0%"
        return f"{100 * value / total:.1f}%" if 1000 * value >= total else "&lt;0.1%"

    segments = "".join(
        f'<div title="{inert(k)}: {v:,} ({share(v)})" style="flex:{v} 1 0;min-width:3px;background:{colour[k]}"></div>'
        for k, v in items
        if v > 0
    )
    if not segments:
        segments = '<div style="flex:1;background:#eee"></div>'
    legend = "".join(
        f'<span style="white-space:nowrap"><span style="display:inline-block;width:0.8em;height:0.8em;'
        f'margin-right:0.3em;border-radius:2px;background:{colour[k]}"></span>{inert(k)} <b>{v:,}</b> ({share(v)})</span>'
        for k, v in items
    )
    summary = "; ".join(f"{inert(k)} {v:,}" for k, v in items)
    return (
        f'<div class="ts-status" role="img" aria-label="Result status: {summary}">'
        f'<div style="display:flex;gap:2px;height:1.8em;border-radius:4px;overflow:hidden">{segments}</div>'
        f'<div style="display:flex;flex-wrap:wrap;gap:0.4em 1.2em;margin-top:0.5em;font-size:0.9rem">{legend}</div>'
        "</div>"
    )


def changes_figure(changes: pd.DataFrame, *, title: str = "") -> go.Figure:
    """Detected changes as a dot plot: ratio after/before per benchmark, red = slower.

    ``changes`` columns: ``label``, ``ratio`` (after / before, >1 = slower for times).
    """
    data = changes.copy()
    data["ratio"] = pd.to_numeric(data["ratio"], errors="coerce")
    data = data[data["ratio"] > 0].dropna(subset=["ratio"])
    if data.empty:
        return empty_figure("No detected changes")
    data = data.sort_values("ratio")
    fig = _base(title, height=max(260, 22 * len(data) + 100))
    fig.add_trace(
        go.Scatter(
            x=data["ratio"],
            y=_inert_list(data["label"]),
            mode="markers",
            marker={
                "size": 11,
                "color": [REGRESSION_COLOUR if r > 1 else IMPROVEMENT_COLOUR for r in data["ratio"]],
            },
            hovertemplate="%{y}<br>after/before %{x:.3g}x<extra></extra>",
        )
    )
    fig.add_vline(x=1.0, line={"dash": "dash", "color": "grey"})
    fig.update_xaxes(title="after / before", type="log")
    fig.update_yaxes(type="category")
    return fig


def lines_over_commits(frame: pd.DataFrame, *, unit: str = "", log_y: bool = False, title: str = "") -> go.Figure:
    """Many series over commits without bands (the explorer view); see :func:`series_figure`."""
    return series_figure(frame.drop(columns=["ci_99_a", "ci_99_b"], errors="ignore"), unit=unit, log_y=log_y, title=title)


def ordered(values: Sequence[Any]) -> list[Any]:
    """Parameter values in natural order: numbers numerically, then text."""

    def key(v: Any) -> tuple[int, float, str]:
        try:
            return (0, float(str(v).strip("'\"")), "")
        except ValueError:
            return (1, 0.0, str(v))

    return sorted(dict.fromkeys(values), key=key)
