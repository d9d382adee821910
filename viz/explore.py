"""The Explore tab: what one live run does to users' opinion of our business.

Our key numbers, the live charts (attitude by market, awareness, followers,
revenue and profit, engagement, conversions, CRM capability, performance), the
guanxi network and the users panel. PNG downloads of every chart are in the
Export tab (kept out of this tab, which re-renders after every step).
"""

from __future__ import annotations

import html
from collections.abc import Callable

import solara
import solara.lab
from solara.alias import rv

from viz.echarts import chart_height, chart_option, network_option
from viz.echarts_widget import FigureEcharts
from viz.figures import (
    LIVE_MEANINGS,
    Chart,
    NetworkView,
    dependency_chart,
    funnel_chart,
    guanxi_ties_chart,
    live_chart,
    market_populations,
    network_view,
    people_counts,
)
from viz.labels import market_name
from viz.state import ExploreSession
from viz.ticks import Ticks


@solara.component
def PngDownload(render: Callable[[], bytes], filename: str, test_id: str):
    """A small 'PNG' button; the image is drawn only when asked for."""
    with solara.FileDownload(render, filename=filename, mime_type="image/png"):
        solara.Button(
            "PNG",
            icon_name="mdi-download",
            text=True,
            small=True,
            attributes={"data-testid": test_id, "title": f"download {filename}"},
        )


CARD_STYLE = (
    "border-radius: 4px; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.2); "
    "background: white; padding: 4px; min-width: 0"
)


@solara.component
def EchartsFigure(option: dict, height: int, test_id: str, day: int):
    """An ECharts figure drawn as a card; ``data-day`` tells tests which day it shows.

    One widget: after every step only the figures themselves are updated.
    """
    FigureEcharts(
        option=option,
        attributes={
            "style": f"height: {height}px; width: 100%; {CARD_STYLE}",
            "data-testid": test_id,
            "data-day": str(day),
        },
        responsive=True,
    )


@solara.component
def ChartCard(build: Callable[[], Chart], key: str, revision: int, day: int):
    """One chart, rebuilt when the run changes, with a line saying what it means."""
    chart = solara.use_memo(build, [key, revision])
    option = solara.use_memo(lambda: chart_option(chart), [chart])
    with solara.Column(gap="0px", style="min-width: 0"):
        EchartsFigure(option, chart_height(chart), f"chart-{key}", day)
        if key in LIVE_MEANINGS:
            rv.Html(
                tag="div",
                children=[LIVE_MEANINGS[key]],
                attributes={"data-testid": f"meaning-{key}"},
                style_="font-size: 12px; color: #444; padding: 2px 6px",
            )


def _kpi_html(figures: list[tuple[str, str]]) -> str:
    cells = "".join(
        '<div style="border: 1px solid #ddd; border-radius: 4px; padding: 4px 10px; '
        'min-width: 110px"><div style="font-size: 11px; color: #666">'
        f"{html.escape(label)}</div>"
        f'<div style="font-size: 17px; font-weight: 600">{html.escape(value)}</div></div>'
        for label, value in figures
    )
    return f'<div style="display: flex; flex-wrap: wrap; gap: 8px">{cells}</div>'


@solara.component
def Kpis(session: ExploreSession, revision: int):
    """Our business today: opinion, reach, sales, capability, ties (one widget)."""

    def read() -> list[tuple[str, str]]:
        model = session.model
        firm, currency = model.focal, model.spec.model.currency
        followers, customers, share = people_counts(model, firm.index)
        history = session.history
        by_market = [
            (
                f"Attitude toward us in {market_name(market)}",
                f"{history.latest(firm.name, market, 'attitude_mean'):+.2f}",
            )
            for market in history.market_names
            if (firm.name, market) in history.firm_market
        ]
        return [
            ("Day", f"{session.day}"),
            ("Attitude toward us, all markets", f"{firm.mean_attitude:+.2f}"),
            *by_market,
            ("Followers (people)", f"{followers:,.0f}"),
            ("Follower share", f"{share:.2%}"),
            ("Customers (people)", f"{customers:,.0f}"),
            (f"Revenue so far ({currency})", f"{firm.total_revenue:,.0f}"),
            (f"Profit so far ({currency})", f"{firm.total_profit:,.0f}"),
            ("CRM capability", f"{firm.crm_capability:.3f}"),
            ("Performance", f"{firm.performance:.3f}"),
            ("Our guanxi ties (all firms' ties: Guanxi network)", f"{firm.ties}"),
        ]

    figures = session.read(read)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=_kpi_html(figures),  # our own numbers and labels, escaped
        attributes={"data-testid": "kpis", "data-day": figures[0][1]},
    )


@solara.component
def NetworkCard(session: ExploreSession, revision: int):
    """The guanxi network: firms sized by performance, ties by strength, tooltips per tie."""
    view = solara.use_memo(lambda: session.read(lambda: network_view(session.model)), [revision])
    option = solara.use_memo(lambda: network_option(view), [view])
    summary = view.summary()
    events = "".join(f"<div>{html.escape(line)}</div>" for line in view.recent_events)
    with solara.Column(gap="4px", style="min-width: 0"):
        EchartsFigure(option, 420, "chart-guanxi-network", view.day)
        rv.Html(
            tag="div",
            children=[summary],
            attributes={"data-testid": "network-summary", "data-ties": str(len(view.ties))},
            style_="font-size: 13px; font-weight: 600",
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=_ties_table(view),  # firm names escaped
            style="font-size: 12px",
            attributes={"data-testid": "network-ties"},
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=events,  # firm names escaped
            style="font-size: 12px; color: #444",
            attributes={"data-testid": "network-events"},
        )


def _ties_table(view: NetworkView) -> str:
    """Each tie now, what it brought each side and what each side gave (the tooltips' text)."""
    if not view.ties:
        return ""
    header = "".join(
        f'<th style="text-align: left; padding-right: 8px">{text}</th>'
        for text in ("tie", "strength", "days", "brought A (gave)", "brought B (gave)")
    )
    rows = []
    for tie in view.ties:
        a, b = html.escape(tie.firm_a), html.escape(tie.firm_b)
        cells = (
            f"A {a} \u2194 B {b}",
            f"{tie.strength:.2f}",
            f"{tie.age}",
            html.escape(f"{tie.money(tie.benefit_a)} ({tie.money(tie.favours_a)})"),
            html.escape(f"{tie.money(tie.benefit_b)} ({tie.money(tie.favours_b)})"),
        )
        rows.append(
            "<tr>" + "".join(f'<td style="padding-right: 8px">{c}</td>' for c in cells) + "</tr>"
        )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@solara.component
def UsersPanel(session: ExploreSession, revision: int, config_revision: int):
    """SNS dependency by market, and our funnel aware -> following -> consuming -> engaging -> buying."""
    populations = solara.use_memo(lambda: market_populations(session.model), [config_revision])
    with solara.GridFixed(columns=2):
        ChartCard(
            lambda: session.read(lambda: dependency_chart(session.model)),
            "sns_dependency",
            config_revision,
            0,
        )
        ChartCard(
            lambda: session.read(lambda: funnel_chart(session.history, populations)),
            "funnel",
            revision,
            session.day,
        )


# Pages of live charts, as Mesa's SolaraViz puts components on pages: each step
# redraws the page in view (a handful of figures), not every chart at once.
PAGES: dict[str, tuple[str, ...]] = {
    "Opinion and reach": ("attitude_mean", "awareness", "followers", "engagement_rate"),
    "Sales and capability": ("revenue_profit", "conversions", "crm_capability", "performance"),
}


@solara.component
def ChartPage(session: ExploreSession, keys: tuple[str, ...], revision: int):
    with solara.GridFixed(columns=2):
        for key in keys:
            ChartCard(
                lambda key=key: session.read(lambda: live_chart(session.history, key)),
                key,
                revision,
                session.day,
            ).key(key)


@solara.component
def ExploreTab(ticks: Ticks, revision: int, config_revision: int):
    """Our numbers, then pages of live charts, the guanxi network and the users panel.

    Re-renders after every step (``revision`` is the session's run counter); only the
    page in view is rebuilt.
    """
    session = ticks.session
    page = solara.use_reactive(0)
    Kpis(session, revision)
    with solara.lab.Tabs(value=page, lazy=True):
        for title, keys in PAGES.items():
            with solara.lab.Tab(title):
                ChartPage(session, keys, revision)
        with solara.lab.Tab("Guanxi network"), solara.GridFixed(columns=2):
            NetworkCard(session, revision)
            ChartCard(
                lambda: session.read(lambda: guanxi_ties_chart(session.model)),
                "guanxi_ties",
                revision,
                session.day,
            )
        with solara.lab.Tab("Users"):
            UsersPanel(session, revision, config_revision)
