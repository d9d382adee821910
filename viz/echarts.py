"""ECharts options for the page: charts and the guanxi network, drawn in the browser.

ECharts ships with Solara's local assets (``echarts@5.4.0``), so charts render in
the browser without any CDN; the server only sends numbers. Options are plain JSON
(no JavaScript functions): tooltips are HTML strings, with every name escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from viz.figures import MAX_POINTS, Chart, NetworkView, Panel, Series

PANEL_HEIGHT = 210  # px per row of panels
TITLE_HEIGHT = 30  # px for the chart title
LEGEND_ROW = 22  # px per row of legend entries
LEGEND_PER_ROW = 4
BOTTOM = 36


def _legend_names(chart: Chart) -> list[str]:
    names: list[str] = []
    for panel in chart.panels:
        for line in panel.series:
            if line.name not in names:
                names.append(line.name)
    return names


def _top(chart: Chart) -> int:
    """Pixels above the first row of panels: title, legend rows, panel titles."""
    rows = math.ceil(len(_legend_names(chart)) / LEGEND_PER_ROW)
    return TITLE_HEIGHT + LEGEND_ROW * rows + 24


def chart_height(chart: Chart) -> int:
    """Pixel height that fits the chart's panels."""
    rows = math.ceil(len(chart.panels) / _columns(chart))
    return _top(chart) + rows * (PANEL_HEIGHT + 40) + BOTTOM


def _columns(chart: Chart) -> int:
    return 1 if len(chart.panels) == 1 else 2


def chart_option(chart: Chart, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """The ECharts option of a :class:`~viz.figures.Chart` (panels in a grid of two columns)."""
    columns = _columns(chart)
    grids, x_axes, y_axes, titles, series = [], [], [], [], []
    titles.append({"text": chart.title, "left": 8, "top": 4, "textStyle": {"fontSize": 14}})
    legend = _legend_names(chart)
    gap = _name_gap(chart)
    left_margin = 11 if gap <= 56 else 14  # percent of the chart's width
    width = (84 if columns == 1 else 39) - (left_margin - 11)
    first_row = _top(chart)
    if chart.horizontal:
        width = 60
    for index, panel in enumerate(chart.panels):
        row, column = divmod(index, columns)
        left = (36 if chart.horizontal else left_margin) if column == 0 else 59
        top = first_row + row * (PANEL_HEIGHT + 40)
        grids.append({"left": f"{left}%", "width": f"{width}%", "top": top, "height": PANEL_HEIGHT})
        if len(chart.panels) > 1:
            titles.append(
                {
                    "text": panel.title,
                    "left": f"{left}%",
                    "top": top - 20,
                    "textStyle": {"fontSize": 12, "fontWeight": "normal"},
                }
            )
        category_axis = _x_axis(chart, panel, index, _thinning(len(panel.x), max_points))
        value_axis = {
            "gridIndex": index,
            "type": "log" if chart.log_y else "value",
            "name": chart.y_label if column == 0 else "",
            "nameLocation": "middle",
            # Clear of the tick labels: wide numbers (1,800,000) push the name out.
            "nameGap": 30 if chart.horizontal else _name_gap(chart),
            "nameTextStyle": {"fontSize": 11},
            "scale": not chart.log_y and chart.kind == "line",
            "splitLine": {"lineStyle": {"opacity": 0.4}},
        }
        if chart.horizontal:
            category_axis = {**category_axis, "inverse": True, "nameGap": 10, "name": ""}
            category_axis["axisLabel"] = {"fontSize": 11, "interval": 0}
            x_axes.append(value_axis)
            y_axes.append(category_axis)
        else:
            x_axes.append(category_axis)
            y_axes.append(value_axis)
        keep = _thinning(len(panel.x), max_points) if chart.kind == "line" else None
        for position, line in enumerate(panel.series):
            series.extend(_series(chart, panel, line, index, position, keep))
        if panel.zero_line and chart.kind == "line" and len(panel.x):
            series.append(_zero_line(panel, index, keep))
    return {
        "animation": False,
        "title": titles,
        "legend": {"type": "plain", "top": TITLE_HEIGHT, "left": 8, "right": 8, "data": legend},
        "tooltip": {"trigger": "axis", "confine": True, "axisPointer": {"type": "line"}},
        "grid": grids,
        "xAxis": x_axes,
        "yAxis": y_axes,
        "series": series,
    }


def _name_gap(chart: Chart) -> int:
    """Pixels between a value axis and its name: the widest tick label plus a margin."""
    widest = 0.0
    for panel in chart.panels:
        for line in panel.series:
            for values in (line.values, line.low, line.high):
                if values is None:
                    continue
                numbers = np.asarray(values, dtype=float)
                numbers = numbers[np.isfinite(numbers)]
                if numbers.size:
                    widest = max(widest, float(np.max(np.abs(numbers))))
    # 1,800,000 with a minus sign; below 1,000 labels are short (0.125, -0.25, 100)
    characters = len(f"{widest:,.0f}") + 1 if widest >= 1000 else 5
    return max(46, 6 * characters + 14)


def _has_bands(panel: Panel) -> bool:
    return any(line.low is not None and line.high is not None for line in panel.series)


def _x_axis(
    chart: Chart, panel: Panel, index: int, keep: np.ndarray | None = None
) -> dict[str, Any]:
    if chart.kind == "line" and _has_bands(panel):
        # Bands are stacked series (low, then high - low); ECharts stacks reliably on a
        # category axis, so days are categories here.
        x = np.asarray(panel.x, dtype=float)
        if keep is not None:
            x = x[keep]
        return {
            "gridIndex": index,
            "type": "category",
            "boundaryGap": False,
            "data": [f"{day:g}" for day in x],
            "name": chart.x_label,
            "nameLocation": "middle",
            "nameGap": 24,
        }
    if chart.kind == "bar":
        return {
            "gridIndex": index,
            "type": "category",
            "data": [str(value) for value in panel.x],
            "name": chart.x_label,
            "nameLocation": "middle",
            "nameGap": 26,
            "axisLabel": {"fontSize": 10, "hideOverlap": True},
        }
    x = np.asarray(panel.x, dtype=float)
    upper = float(x.max()) if x.size else 1.0
    return {
        "gridIndex": index,
        "type": "value",
        "min": 0,
        "max": max(upper, 1.0),
        "name": chart.x_label,
        "nameLocation": "middle",
        "nameGap": 24,
    }


def _series(
    chart: Chart,
    panel: Panel,
    line: Series,
    index: int,
    position: int,
    keep: np.ndarray | None,
) -> list[dict[str, Any]]:
    axes = {"xAxisIndex": index, "yAxisIndex": index}
    color = line.color
    if chart.kind == "bar":
        values = _clean(np.asarray(line.values, dtype=float), log=chart.log_y)
        return [
            {
                "name": line.name,
                "type": "bar",
                "data": values,
                "itemStyle": {"color": color},
                **axes,
            }
        ]
    x = np.asarray(panel.x, dtype=float)
    values = np.asarray(line.values, dtype=float)
    if keep is not None:
        x, values = x[keep], values[keep]
    categorical = _has_bands(panel)

    def points(numbers: np.ndarray) -> list:
        return _clean(numbers) if categorical else _pairs(x, numbers)

    main = {
        "name": line.name,
        "type": "line",
        "showSymbol": len(x) <= 2,
        "data": points(values),
        "lineStyle": {"width": 3.2 if line.emphasis else 1.4, "color": color},
        "itemStyle": {"color": color},
        "z": 4 if line.emphasis else 3,
        **axes,
    }
    if line.low is None or line.high is None:
        return [main]
    low = np.asarray(line.low, dtype=float)
    high = np.asarray(line.high, dtype=float)
    if keep is not None:
        low, high = low[keep], high[keep]
    stack = f"band-{index}-{position}"
    band_base = {
        "name": line.name,
        "type": "line",
        "showSymbol": False,
        "stack": stack,
        "stackStrategy": "all",
        "silent": True,
        "lineStyle": {"opacity": 0},
        # ECharts takes a legend entry's colour from the first series of that name: a
        # band's invisible lower edge comes first, so it carries the line's colour too.
        "itemStyle": {"color": color},
        "tooltip": {"show": False},
        **axes,
    }
    return [
        {**band_base, "data": points(low)},
        {
            **band_base,
            "data": points(high - low),
            "areaStyle": {"color": color, "opacity": 0.22},
        },
        main,
    ]


def _zero_line(panel: Panel, index: int, keep: np.ndarray | None) -> dict[str, Any]:
    x = np.asarray(panel.x, dtype=float)
    if keep is not None:
        x = x[keep]
    data: list = (
        [0.0] * len(x) if _has_bands(panel) else [[float(x.min()), 0.0], [float(x.max()), 0.0]]
    )
    return {
        "name": "zero",
        "type": "line",
        "showSymbol": False,
        "silent": True,
        "data": data,
        "lineStyle": {"color": "#444", "width": 1, "type": "dashed"},
        "tooltip": {"show": False},
        "xAxisIndex": index,
        "yAxisIndex": index,
    }


def _thinning(length: int, max_points: int) -> np.ndarray | None:
    """Indices of evenly spaced points (always the last) when a series is too long."""
    if length <= max_points:
        return None
    return np.unique(np.linspace(0, length - 1, max_points).round().astype(int))


def _rounded(values: np.ndarray) -> np.ndarray:
    """Six significant digits: enough for the eye, and a much smaller message."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values
    scale = float(np.max(np.abs(finite)))
    decimals = 6 if scale == 0 else max(0, 5 - math.floor(math.log10(scale)))
    return np.round(values, decimals)


def _clean(values: np.ndarray, log: bool = False) -> list[float | None]:
    """JSON-ready numbers: NaN (and, on log scales, values <= 0) become gaps."""
    rounded = _rounded(values)
    bad = ~np.isfinite(rounded) | ((rounded <= 0) if log else False)
    out: list[float | None] = rounded.tolist()
    for i in np.flatnonzero(bad):
        out[i] = None
    return out


def _pairs(x: np.ndarray, values: np.ndarray) -> list[list[float | None]]:
    days = x.tolist()
    return [[day, value] for day, value in zip(days, _clean(values), strict=True)]


# --------------------------------------------------------------------------- network
def _text(value: str) -> str:
    """Names as safe HTML inside an ECharts tooltip template ({...} would be a template)."""
    return html.escape(value).replace("{", "&#123;").replace("}", "&#125;")


def _lines(lines: Sequence[str]) -> str:
    return "<br/>".join(_text(line) for line in lines)


def network_option(view: NetworkView) -> dict[str, Any]:
    """The guanxi network as an ECharts graph: node size = performance, width = strength."""
    nodes = []
    for node in view.nodes:
        nodes.append(
            {
                "name": node.name,
                "value": round(node.performance, 4),
                "symbol": "diamond" if node.focal else "circle",
                "symbolSize": 16 + 60 * max(0.0, node.performance),
                "itemStyle": {
                    "color": node.color,
                    "borderColor": "#000" if node.focal else "#fff",
                    "borderWidth": 3 if node.focal else 1,
                },
                "label": {
                    "show": True,
                    "fontWeight": "bold" if node.focal else "normal",
                    "formatter": _text(f"{node.name} (us)" if node.focal else node.name),
                },
                "tooltip": {
                    "formatter": _lines(
                        [
                            node.name + (" (us)" if node.focal else ""),
                            f"performance {node.performance:.3f}",
                            f"CRM capability {node.crm_capability:.3f}",
                            f"ties {node.ties}",
                        ]
                    )
                },
            }
        )
    links = []
    for tie in view.ties:
        links.append(
            {
                "source": tie.firm_a,
                "target": tie.firm_b,
                "value": round(tie.strength, 4),
                "lineStyle": {
                    "width": 1 + 9 * tie.strength,
                    "opacity": 0.35 + 0.6 * tie.strength,
                    "color": "#555",
                },
                "tooltip": {"formatter": _lines(tie.describe())},
            }
        )
    return {
        "animationDurationUpdate": 300,
        "title": {
            "text": "Guanxi network",
            "subtext": view.summary(),
            "left": 8,
            "top": 4,
            "textStyle": {"fontSize": 14},
        },
        "tooltip": {"trigger": "item", "confine": True},
        "series": [
            {
                "type": "graph",
                "layout": "circular",
                "circular": {"rotateLabel": False},
                "top": 70,
                "bottom": 30,
                "left": 60,
                "right": 60,
                "roam": False,
                "data": nodes,
                "links": links,
                "label": {"position": "right"},
                "emphasis": {"focus": "adjacency", "lineStyle": {"width": 8}},
            }
        ],
    }
