"""PNG downloads of the page's charts and network (matplotlib, rendered on the server).

Each function draws the same :class:`~viz.figures.Chart` or
:class:`~viz.figures.NetworkView` the page shows, with every point (no thinning).
Figures are made without ``pyplot``, whose global state is not safe when several
browser sessions download at once.
"""

from __future__ import annotations

import io
import math

import networkx as nx
import numpy as np
from matplotlib.figure import Figure

from viz.figures import Chart, NetworkView

DPI = 110


def chart_png(chart: Chart, stamp: str = "") -> bytes:
    """The chart as PNG bytes: one subplot per panel, the focal firm drawn thick.

    ``stamp`` (:mod:`viz.stamp`: version, scenario, changes, seed) is written small
    at the foot of the image and in its PNG text ("Comment").
    """
    columns = 1 if len(chart.panels) == 1 else 2
    rows = math.ceil(len(chart.panels) / columns)
    fig = Figure(figsize=(6.2 * columns, 3.8 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[len(chart.panels) :]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, chart.panels, strict=False):
        if chart.kind == "bar":
            _bars(ax, chart, panel)
        else:
            _lines(ax, panel)
        if len(chart.panels) > 1:
            ax.set_title(panel.title, fontsize=10)
        if chart.horizontal:
            ax.set_xlabel(chart.y_label, fontsize=9)
        else:
            ax.set_xlabel(chart.x_label)
            if chart.log_y:
                ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if not chart.horizontal:
        axes[0][0].set_ylabel(chart.y_label, fontsize=9)
    legend: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    if legend:
        fig.legend(
            list(legend.values()),
            list(legend),
            loc="upper right",
            fontsize=8,
            ncols=min(len(legend), 5),
        )
    fig.suptitle(chart.title, x=0.02, ha="left")
    return _save(fig, stamp)


def _lines(ax, panel) -> None:
    x = np.asarray(panel.x, dtype=float)
    for series in panel.series:
        if series.low is not None and series.high is not None:
            ax.fill_between(x, series.low, series.high, color=series.color, alpha=0.22, lw=0)
        ax.plot(
            x,
            np.asarray(series.values, dtype=float),
            label=series.name,
            color=series.color,
            lw=2.6 if series.emphasis else 1.2,
        )
    if panel.zero_line:
        ax.axhline(0.0, color="#444", lw=0.8, ls="--")


def _bars(ax, chart: Chart, panel) -> None:
    categories = [str(value) for value in panel.x]
    count = max(len(panel.series), 1)
    width = 0.8 / count
    positions = np.arange(len(categories))
    for i, series in enumerate(panel.series):
        values = np.asarray(series.values, dtype=float)
        if chart.log_y:
            values = np.where(values > 0, values, np.nan)
        offsets = positions + (i - (count - 1) / 2) * width
        if chart.horizontal:
            ax.barh(offsets, values, width, label=series.name, color=series.color)
        else:
            ax.bar(offsets, values, width, label=series.name, color=series.color)
    if chart.horizontal:
        ax.set_yticks(positions, categories, fontsize=8)
        ax.invert_yaxis()
        if chart.log_y:
            ax.set_xscale("log")
        return
    step = max(1, len(categories) // 10)
    ax.set_xticks(positions[::step], categories[::step], fontsize=8, rotation=20, ha="right")


def network_png(view: NetworkView, stamp: str = "") -> bytes:
    """The guanxi network: node size = performance, edge width = tie strength."""
    graph = nx.Graph()
    for node in view.nodes:
        graph.add_node(node.name)
    for tie in view.ties:
        graph.add_edge(tie.firm_a, tie.firm_b, strength=tie.strength)
    positions = nx.circular_layout(graph)
    fig = Figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    widths = [1 + 9 * graph.edges[edge]["strength"] for edge in graph.edges]
    nx.draw_networkx_edges(graph, positions, width=widths, edge_color="#555", alpha=0.7, ax=ax)
    for node in view.nodes:
        nx.draw_networkx_nodes(
            graph,
            positions,
            nodelist=[node.name],
            node_size=120 + 1600 * max(0.0, node.performance),
            node_color=node.color,
            node_shape="D" if node.focal else "o",
            edgecolors="#000" if node.focal else "#fff",
            linewidths=2.5 if node.focal else 1,
            ax=ax,
        )
    labels = {node.name: f"{node.name} (us)" if node.focal else node.name for node in view.nodes}
    nx.draw_networkx_labels(graph, positions, labels, font_size=9, ax=ax)
    ax.set_title(f"Guanxi network. {view.summary()}", fontsize=10)
    ax.margins(0.2)
    ax.axis("off")
    return _save(fig, stamp)


def _save(fig: Figure, stamp: str = "") -> bytes:
    buffer = io.BytesIO()
    bottom = 0.0
    if stamp:
        fig.text(0.01, 0.005, stamp, fontsize=6, color="#666", ha="left", va="bottom", wrap=True)
        bottom = 0.04
    fig.tight_layout(rect=(0, bottom, 1, 0.93))
    metadata = {"Software": None, **({"Comment": stamp} if stamp else {})}
    fig.savefig(buffer, format="png", dpi=DPI, metadata=metadata)
    return buffer.getvalue()
