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

from viz.parameters import Parameter, coerce

OnChange = Callable[[str, Any], None]
CHANGED_COLOR = "#c2185b"


def test_id(path: str, scope: str = "") -> str:
    """The ``data-testid`` of a parameter's control, e.g. ``param-guanxi.enabled`` or,
    in the Compare tab, ``B:param-guanxi.enabled`` (used by the tests)."""
    return f"{scope}param-{path}"


def _label(parameter: Parameter, value: Any) -> str:
    unit = f" ({parameter.unit})" if parameter.unit else ""
    if parameter.kind in ("float", "int") and isinstance(value, int | float):
        return f"{parameter.label}{unit}: {value:g}"
    return f"{parameter.label}{unit}"


def help_text(parameter: Parameter) -> str:
    """The schema's help text, the allowed values and the override path."""
    return f"{parameter.help} Allowed: {parameter.describe_bounds()}. Path: {parameter.path}"


@solara.component
def ParameterControl(
    parameter: Parameter, value: Any, changed: bool, on_change: OnChange, scope: str = ""
):
    """One control; ``on_change(path, value)`` is called once per committed change.

    Kept to a handful of widgets (the help text is the native tooltip of an info
    icon) because the page may hold a hundred of them.
    """

    def commit(new_value: Any) -> None:
        new_value = coerce(parameter, new_value)
        if new_value != value or type(new_value) is not type(value):
            on_change(parameter.path, new_value)

    marker = f"border-left: 3px solid {CHANGED_COLOR}; padding-left: 6px;" if changed else ""
    with rv.Html(tag="div", class_="guanxi-param", style_=f"margin: 2px 0; {marker}"):
        if parameter.kind == "bool":
            with rv.Html(tag="div", style_="display: flex; align-items: center"):
                rv.Switch(
                    label=parameter.label,
                    v_model=bool(value),
                    on_v_model=commit,
                    hide_details=True,
                    dense=True,
                    attributes={"data-testid": test_id(parameter.path, scope)},
                )
                _help(parameter)
        elif parameter.kind == "choice":
            with rv.Html(tag="div", style_="display: flex; align-items: center"):
                solara.Select(
                    label=parameter.label,
                    values=list(parameter.choices),
                    value=str(value),
                    on_value=commit,
                    dense=True,
                )
                _help(parameter)
        elif parameter.fits_slider(value):
            with rv.Html(tag="div", style_="font-size: 12px; color: #555"):
                rv.Html(tag="span", children=[_label(parameter, value)])
                _help(parameter)
            SliderControl(parameter, value, commit, scope)
        else:
            with rv.Html(tag="div", style_="display: flex; align-items: center"):
                unit = parameter.unit or None
                if parameter.kind == "int":
                    solara.InputInt(
                        _label(parameter, None),
                        value=int(value),
                        on_value=commit,
                        dense=True,
                        suffix=unit,
                    )
                else:
                    solara.InputFloat(
                        _label(parameter, None),
                        value=float(value),
                        on_value=commit,
                        dense=True,
                        suffix=unit,
                    )
                _help(parameter)


def _help(parameter: Parameter) -> None:
    rv.Icon(
        children=["mdi-information-outline"],
        small=True,
        style_="cursor: help; margin-left: 4px",
        attributes={"title": help_text(parameter)},
    )


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
):
    """Controls for several parameters (values and changed paths given by the caller)."""
    for parameter in parameters:
        ParameterControl(
            parameter, values[parameter.path], parameter.path in changed, on_change, scope
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
    icon = "mdi-chevron-down" if is_open else "mdi-chevron-right"
    with solara.Column(gap="0px", style="margin-top: 4px"):
        solara.Button(
            title,
            icon_name=icon,
            text=True,
            on_click=lambda: set_open(not is_open),
            style="justify-content: flex-start; text-transform: none; font-weight: 600",
            attributes={"data-testid": test_id} if test_id else None,
        )
        if is_open:
            with solara.Column(gap="0px", style="padding-left: 8px"):
                render()
