"""Parameter controls generated from the scenario schema.

Each :class:`~viz.parameters.Parameter` becomes a slider, a number field, a switch
or a choice, labelled with its name and unit, with the schema's help text and
allowed range in a tooltip. A change is committed once (slider released, field left
or Enter pressed), never on every pixel of a drag: each commit rebuilds the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import solara
from solara.alias import rv

from viz.labels import describe_value, unit_words
from viz.parameters import Parameter, coerce

# ``on_change(path, value)`` applies a change; it returns None when applied, or the
# reason it was refused (the control then shows the value still in use, and why).
OnChange = Callable[[str, Any], "str | None"]
NOT_REFUSED = object()  # no refused value recorded for a control
CHANGED_COLOR = "#c2185b"


def test_id(path: str, scope: str = "") -> str:
    """The ``data-testid`` of a parameter's control, e.g. ``param-guanxi.enabled`` or,
    in the Compare tab, ``B:param-guanxi.enabled`` (used by the tests)."""
    return f"{scope}param-{path}"


def _label(parameter: Parameter, value: Any, currency: str = "EUR") -> str:
    unit = f" ({unit_words(parameter.unit, currency)})" if parameter.unit else ""
    if parameter.kind in ("float", "int") and isinstance(value, int | float):
        return f"{parameter.label}{unit}: {value:g}"
    return f"{parameter.label}{unit}"


def help_text(parameter: Parameter) -> str:
    """The schema's help text, the allowed values (as the UI enforces them) and the path."""
    return f"{parameter.help} Allowed: {parameter.describe_bounds()}. Path: {parameter.path}"


def refusal_text(parameter: Parameter, typed: Any, current: Any, currency: str) -> str:
    """Why a typed value was not applied (briefly: the page's error line has the
    schema's full message), and which value the model still runs."""
    shown = describe_value(parameter.path, typed, currency)
    allowed = parameter.describe_bounds()
    if parameter.unit:
        allowed = allowed.replace(parameter.unit, unit_words(parameter.unit, currency))
    return (
        f"Not applied: {shown}. Allowed: {allowed}. "
        f"Still running {describe_value(parameter.path, current, currency)}."
    )


@solara.component
def ParameterControl(
    parameter: Parameter,
    value: Any,
    changed: bool,
    on_change: OnChange,
    scope: str = "",
    currency: str = "EUR",
    refused_value: Any = NOT_REFUSED,
):
    """One control; ``on_change(path, value)`` is called once per committed change.

    A refused value is not left in the field: the field goes back to the value the
    model runs, and a line under it says what was refused and why. The help text
    (the schema's, with the limits the UI enforces) opens under the control when the
    info icon is clicked, and is its native tooltip too.
    """
    # The refusal is shown at once from the control's own state, and from the
    # session's record (``refused_value``) once the page re-renders: a control built
    # anew in between (its own state lost) still says what was refused.
    own_refusal, set_refused = solara.use_state(None)
    refused = (
        refusal_text(parameter, refused_value, value, currency)
        if refused_value is not NOT_REFUSED
        else own_refusal
    )
    generation, set_generation = solara.use_state(0)
    show_help, set_show_help = solara.use_state(False)

    def commit(new_value: Any) -> None:
        new_value = coerce(parameter, new_value)
        if new_value != value or type(new_value) is not type(value):
            problem = on_change(parameter.path, new_value)
            if isinstance(problem, str):
                set_refused(refusal_text(parameter, new_value, value, currency))
                set_generation(generation + 1)  # a new field, showing the value in use
            else:
                set_refused(None)

    def help_icon() -> Any:
        return _help(parameter, lambda: set_show_help(not show_help), scope)

    marker = f"border-left: 3px solid {CHANGED_COLOR}; padding-left: 6px;" if changed else ""
    with rv.Html(tag="div", class_="guanxi-param", style_=f"margin: 2px 0; {marker}"):
        _control(parameter, value, commit, scope, currency, generation, help_icon)
        if show_help:
            rv.Html(
                tag="div",
                children=[help_text(parameter)],
                attributes={"data-testid": f"{scope}help-{parameter.path}"},
                style_="font-size: 12px; color: #333; background: #f3f6fa; padding: 4px 6px",
            )
        if refused:
            rv.Html(
                tag="div",
                children=[refused],
                attributes={"data-testid": f"{scope}refused-{parameter.path}"},
                style_="font-size: 12px; color: #b00020",
            )


def _control(
    parameter: Parameter,
    value: Any,
    commit: Callable[[Any], None],
    scope: str,
    currency: str,
    generation: int,
    help_icon: Callable[[], Any],
) -> None:
    """The input itself (keyed by ``generation``: a refused value gets a fresh field)."""
    key = f"{parameter.path}-{generation}"
    if parameter.kind == "bool":
        with rv.Html(tag="div", style_="display: flex; align-items: center"):
            rv.Switch(
                label=parameter.label,
                v_model=bool(value),
                on_v_model=commit,
                hide_details=True,
                dense=True,
                attributes={"data-testid": test_id(parameter.path, scope)},
            ).key(key)
            help_icon()
    elif parameter.kind == "choice":
        with rv.Html(tag="div", style_="display: flex; align-items: center"):
            solara.Select(
                label=parameter.label,
                values=list(parameter.choices),
                value=str(value),
                on_value=commit,
                dense=True,
            )
            help_icon()
    elif parameter.fits_slider(value):
        rv.Html(
            tag="div",
            style_="font-size: 12px; color: #555",
            children=[_label(parameter, value, currency), help_icon()],
        )
        SliderControl(parameter, value, commit, scope).key(key)
    else:
        with rv.Html(tag="div", style_="display: flex; align-items: center"):
            unit = unit_words(parameter.unit, currency) or None
            if parameter.kind == "int":
                solara.InputInt(
                    _label(parameter, None, currency),
                    value=int(value),
                    on_value=commit,
                    dense=True,
                    suffix=unit,
                ).key(key)
            else:
                solara.InputFloat(
                    _label(parameter, None, currency),
                    value=float(value),
                    on_value=commit,
                    dense=True,
                    suffix=unit,
                ).key(key)
            help_icon()


def _help(parameter: Parameter, toggle: Callable[[], None], scope: str = "") -> Any:
    """The info icon: hover for the help as a tooltip, click to show it in the page.

    A plain ``<button>`` showing the icon font's glyph: one widget, where a Vuetify
    icon button is two (a button and its icon), and a page holds dozens of these.
    """
    button = rv.Html(
        tag="button",
        class_="guanxi-help mdi mdi-information-outline",
        attributes={
            "type": "button",
            "title": help_text(parameter),
            "aria-label": f"Help: {parameter.label}",
            "data-testid": f"{scope}btn-help-{parameter.path}",
        },
    )
    rv.use_event(button, "click", lambda *_: toggle())
    return button


@solara.component
def SliderControl(
    parameter: Parameter, value: float, commit: Callable[[Any], None], scope: str = ""
):
    """A slider that commits when released (Vuetify's ``change`` event), not while dragged."""
    low, high, step = parameter.slider or (0.0, 1.0, 0.01)
    slider = rv.Slider(
        v_model=value,
        min=low,
        max=high,
        step=step,
        thumb_label=True,
        dense=True,
        hide_details=True,
        attributes={"data-testid": test_id(parameter.path, scope)},
        class_="guanxi-slider",
    )

    decimals = max(0, -math.floor(math.log10(step)))

    def on_change(*args: Any) -> None:
        # The browser adds steps in binary floating point (2.1 + 0.1 = 2.2000000000000002).
        commit(round(float(args[-1]), decimals))

    rv.use_event(slider, "change", on_change)


@solara.component
def ParameterList(
    parameters: Sequence[Parameter],
    values: dict[str, Any],
    changed: frozenset[str],
    on_change: OnChange,
    scope: str = "",
    currency: str = "EUR",
    refusals: dict[str, Any] | None = None,
):
    """Controls for several parameters (values and changed paths given by the caller;
    ``refusals``: refused values by scoped path, see :attr:`ExploreSession.refusals`)."""
    refusals = refusals or {}
    for parameter in parameters:
        ParameterControl(
            parameter,
            values[parameter.path],
            parameter.path in changed,
            on_change,
            scope,
            currency,
            refusals.get(f"{scope}{parameter.path}", NOT_REFUSED),
        ).key(parameter.path)


@solara.component
def Section(
    title: str,
    render: Callable[[], None],
    initially_open: bool = False,
    test_id: str = "",
):
    """A titled block whose contents (``render()``) are only built while it is open."""
    is_open, set_open = solara.use_state(initially_open)
    # One widget for the title (a chevron character, not an icon widget): the page
    # shows a dozen sections before anything is opened.
    chevron = "\u25be" if is_open else "\u25b8"
    with rv.Html(tag="div", style_="margin-top: 4px"):
        button = rv.Btn(
            children=[f"{chevron}\u2002{title}"],
            text=True,
            block=True,
            style_="justify-content: flex-start; text-transform: none; font-weight: 600",
            attributes={"data-testid": test_id} if test_id else {},
        )
        rv.use_event(button, "click", lambda *_: set_open(not is_open))
        if is_open:
            with rv.Html(tag="div", style_="padding-left: 8px"):
                render()
