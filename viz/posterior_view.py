"""The Compare tab's parameter uncertainty: choose a calibration posterior folder.

A typed folder, or one of the finished calibrations found under the UI's data
folder (:func:`viz.posterior.data_folder`); the posterior is read as data only by
:mod:`sim.inference`, and a folder that cannot be used is refused in one line while
the posterior already loaded (if any) stays.
"""

from __future__ import annotations

from collections.abc import Callable

import solara
from solara.alias import rv

from sim.inference.posterior import POSTERIOR_FILE
from viz.posterior import data_folder, result_folders
from viz.sidebar import Banner, folder_picker, test_ids
from viz.state import ExploreSession


@solara.component
def PosteriorCard(session: ExploreSession, compare_revision: int, refresh: Callable[[], None]):
    folder = solara.use_reactive("")
    listing, set_listing = solara.use_state(0)
    root = data_folder()
    found = solara.use_memo(
        lambda: [str(p) for p in result_folders(root, POSTERIOR_FILE)], [listing, str(root)]
    )

    def load() -> None:
        session.load_posterior(folder.value)
        refresh()

    def clear() -> None:
        session.clear_posterior()
        refresh()

    posterior = session.posterior
    with solara.Card(
        "Parameter uncertainty (calibration posterior)", margin=0, elevation=1, style="min-width: 0"
    ):
        rv.Html(
            tag="div",
            children=[
                "Optional: a finished `guanxi calibrate --out` folder. Replication r of A and "
                "of B then both run with draw r of the calibrated parameters (A's and B's own "
                "changes win), so the ranges include what the calibration left uncertain."
            ],
            style_="font-size: 12px; color: #555",
        )
        with solara.Row(gap="8px", style="align-items: center; flex-wrap: wrap"):
            folder_picker(
                "posterior",
                "Posterior",
                folder,
                found,
                f"Calibrations found under {root}",
                load,
                lambda: set_listing(listing + 1),
                extra=lambda: solara.Button(
                    "Clear",
                    on_click=clear,
                    disabled=posterior is None,
                    attributes=test_ids("btn-posterior-clear"),
                ),
                continuous_update=True,
            )
        if posterior is not None:
            text = (
                f"Loaded from {posterior.directory}: "
                f"{posterior.describe(session.spec.focal_firm)}. "
                "Comparisons run now include parameter uncertainty."
            )
        else:
            text = (
                "No posterior loaded: comparisons show the simulation's chance variation "
                "only, at the scenario's parameter values."
            )
        rv.Html(
            tag="div",
            children=[text],
            attributes={
                "data-testid": "posterior-status",
                "data-state": "loaded" if posterior is not None else "none",
            },
            style_="font-size: 13px; font-weight: 600" if posterior else "font-size: 13px",
        )
        if session.posterior_error:
            Banner(session.posterior_error, "posterior-error")
