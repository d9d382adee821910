"""Re-render signals of one page: the run, the configuration and the comparison.

The session object (:class:`~viz.state.ExploreSession`) is plain Python and counts
its own changes. Each counter is mirrored in a Solara reactive here. The page reads
all three and hands them down as plain numbers, so that a component re-renders when
its counter changes, and only then: stepping the model redraws the charts in view,
not the hundred parameter controls. :meth:`Ticks.sync` may be called from the play
and comparison threads.
"""

from __future__ import annotations

import solara

from viz.state import ExploreSession


class Ticks:
    """The page's reactive mirrors of the session's change counters."""

    def __init__(
        self,
        session: ExploreSession,
        run: solara.Reactive[int],
        config: solara.Reactive[int],
        compare: solara.Reactive[int],
        export: solara.Reactive[int] | None = None,
    ) -> None:
        self.session = session
        self.run = run
        self.config = config
        self.compare = compare
        self.export = export if export is not None else solara.Reactive(0)

    def sync(self) -> None:
        """Publish the session's counters (safe from worker threads); unchanged ones are no-ops."""
        self.run.set(self.session.revision)
        self.config.set(self.session.config_revision)
        self.compare.set(self.session.compare_revision)
        self.export.set(self.session.export_revision)


def use_ticks(session: ExploreSession) -> Ticks:
    """The page's :class:`Ticks`, made once per page (per browser session)."""
    run = solara.use_reactive(session.revision)
    config = solara.use_reactive(session.config_revision)
    compare = solara.use_reactive(session.compare_revision)
    export = solara.use_reactive(session.export_revision)
    return solara.use_memo(lambda: Ticks(session, run, config, compare, export), [session])
