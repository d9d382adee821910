"""One browser session's scenario, parameter changes, live model and comparison.

:class:`ExploreSession` is plain Python (no Solara), so that it can be tested and
benchmarked on its own. The app creates one per browser session (``solara.use_memo``
in the page component), never at module level: sessions never see each other's
state. Every change bumps :attr:`ExploreSession.revision`, which the page uses to
re-render.

Parameters are changed the way the CLI changes them: a dotted override path and a
value (``firms.ours.strategies.china.responsiveness = 0.6``), applied to the raw
scenario data and validated by the schema (:func:`sim.scenario.scenario_from_data`).
A rejected value leaves everything as it was and sets :attr:`ExploreSession.error`
to the schema's one-line message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sim.compare import variant
from sim.errors import GuanxiError
from sim.inference.posterior import check_paths
from sim.model import MarketModel
from sim.scenario import (
    MAX_SCENARIO_BYTES,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    parse_scenario_bytes,
    read_scenario_file,
    scenario_from_data,
)
from viz.comparison import (
    ComparisonJob,
    ComparisonRecord,
    ComparisonRequest,
    ComparisonResult,
)
from viz.exports import ZipJob, zip_snapshot
from viz.history import RunHistory
from viz.hooks import apply_pareto_point
from viz.optimisation import (
    OptimisationJob,
    ParetoFront,
    load_front,
    new_output_folder,
    preset_plan,
)
from viz.parameters import MAX_UI_USERS, assignment, scenario_value
from viz.posterior import CalibrationPosterior, open_posterior
from viz.stamp import stamp_text

T = TypeVar("T")
DEFAULT_SCENARIO = "baseline"


@dataclass
class CompareSettings:
    """The Compare tab's inputs: A's and B's changes on top of the current scenario."""

    a: dict[str, Any] = field(default_factory=dict)
    b: dict[str, Any] = field(default_factory=dict)
    reps: int = 5
    steps: int | None = None  # None: the scenario's [model] steps
    seed: int | None = None  # None: the scenario's seed


class ExploreSession:
    """The scenario being explored, its changes, the live model and its history."""

    def __init__(self, raw: dict[str, Any], source: str, label: str) -> None:
        self.lock = threading.RLock()
        self.error: str | None = None
        self.revision = 0
        self.config_revision = 0
        self.compare_revision = 0
        self.compare = CompareSettings()
        self.compare_error: str | None = None
        self.compare_job: ComparisonJob | None = None
        # Every finished comparison of this session, oldest first, each labelled with
        # its own A and B (never the settings being edited now).
        self.comparisons: list[ComparisonRecord] = []
        # Values typed and refused, by path (and "A:"/"B:" path in Compare): a control
        # built anew (a re-render) still shows what was refused and why.
        self.refusals: dict[str, Any] = {}
        self.export_job: ZipJob | None = None  # the "Everything" ZIP being drawn
        self.export_revision = 0
        # A calibration posterior for Compare (viz.posterior), and an optimisation run
        # or loaded from the UI with its Pareto front (viz.optimisation).
        self.posterior: CalibrationPosterior | None = None
        self.posterior_error: str | None = None
        self.optimise_job: OptimisationJob | None = None
        self.pareto: ParetoFront | None = None
        self.optimise_error: str | None = None
        self.optimise_message: str | None = None
        self._install(raw, source, label, {})

    @classmethod
    def from_data(
        cls, raw: dict[str, Any], source: str, overrides: dict[str, Any] | None = None
    ) -> ExploreSession:
        """A session on raw scenario data with overrides as the loaded scenario (tests, benchmarks)."""
        data = scenario_from_data(raw, source, overrides or {}).model_dump(mode="json")
        return cls(data, source, source)

    # ------------------------------------------------------------------ loading
    @classmethod
    def bundled(cls, name: str = DEFAULT_SCENARIO) -> ExploreSession:
        """A session on a bundled scenario (raises ScenarioError if it is invalid)."""
        path = bundled_scenarios()[name]
        return cls(read_scenario_file(path), str(path), name)

    def load_bundled(self, name: str) -> bool:
        """Switch to a bundled scenario; False (and :attr:`error`) if it cannot be used."""
        paths = bundled_scenarios()
        if name not in paths:
            return self._fail(f"no bundled scenario '{name}'; bundled: {', '.join(paths)}")
        try:
            raw = read_scenario_file(paths[name])
            self._install(raw, str(paths[name]), name, {})
        except ScenarioError as exc:
            return self._fail(str(exc))
        return True

    def load_upload(self, filename: str, data: bytes, size: int | None = None) -> bool:
        """Use an uploaded TOML file, parsed as data only (size-limited by the schema).

        ``size`` is the file's real size when only its first bytes were sent.
        """
        source = f"upload {filename}"
        size = len(data) if size is None else size
        if size > MAX_SCENARIO_BYTES:
            return self._fail(
                f"{source}: {size:,} bytes; a scenario may be at most {MAX_SCENARIO_BYTES:,} bytes"
            )
        try:
            raw = parse_scenario_bytes(data, source)
            self._install(raw, source, filename, {})
        except ScenarioError as exc:
            return self._fail(str(exc))
        return True

    def _install(
        self, raw: dict[str, Any], source: str, label: str, overrides: dict[str, Any]
    ) -> None:
        """Validate and switch to a scenario; raises ScenarioError and changes nothing if invalid."""
        base = scenario_from_data(raw, source)
        spec = scenario_from_data(raw, source, overrides) if overrides else base
        _check_size(spec, source)
        with self.lock:
            if raw is not getattr(self, "raw", None):
                self.compare = CompareSettings()  # A and B name this scenario's firms
                self.refusals = {}
                self.compare_error = None
                self.compare_revision += 1
            posterior = getattr(self, "posterior", None)
            if posterior is not None:
                try:
                    check_paths(posterior.posterior, spec.model_dump(mode="json"), "Posterior")
                except GuanxiError as exc:
                    self.posterior = None
                    self.posterior_error = f"Posterior set aside for this scenario: {exc}"
                    self.compare_revision += 1
            self.raw, self.source, self.label = raw, source, label
            self.base, self.spec, self.overrides = base, spec, dict(overrides)
            self.error = None
            self._build()
            self.config_revision += 1

    # ------------------------------------------------------------------ parameters
    def value(self, path: str) -> Any:
        """The current value of a parameter (dotted override path)."""
        return scenario_value(self.spec, path)

    def is_changed(self, path: str) -> bool:
        return path in self.overrides

    def set_parameter(self, path: str, value: Any) -> bool:
        """Change one parameter and restart the run; False (and :attr:`error`) if rejected."""
        overrides = dict(self.overrides)
        overrides.pop(path, None)
        try:
            base_value = scenario_value(self.base, path)
        except (AttributeError, StopIteration, KeyError):
            base_value = object()
        if value != base_value or type(value) is not type(base_value):
            overrides[path] = value
        try:
            self._install(self.raw, self.source, self.label, overrides)
        except ScenarioError as exc:
            with self.lock:
                self.refusals[path] = value
                self.config_revision += 1  # the controls re-render with the refusal
            return self._fail(self._change_refused(path, value, str(exc)))
        self.refusals.pop(path, None)
        return True

    def set_parameters(self, changes: dict[str, Any]) -> bool:
        """Apply several changes at once (one rebuild); False (and :attr:`error`) if any
        is refused, and then none is applied."""
        overrides = {**self.overrides, **changes}
        try:
            self._install(self.raw, self.source, self.label, overrides)
        except ScenarioError as exc:
            prefix = f"{self.source}: "
            message = str(exc)
            reason = message[len(prefix) :] if message.startswith(prefix) else message
            return self._fail(f"Changes not applied: {reason}")
        return True

    def _change_refused(self, path: str, value: Any, message: str) -> str:
        """The schema's message about a refused change, blaming the change, not the file.

        The schema names its source first ("upload my.toml: model.steps: ..."); the
        file is fine (it was loaded), so the message names the change instead and says
        which value the model still runs.
        """
        prefix = f"{self.source}: "
        reason = message[len(prefix) :] if message.startswith(prefix) else message
        try:
            current = assignment(path, self.value(path))
        except KeyError:
            current = None
        still = f" The model still runs {current}." if current else ""
        return f"Your change {assignment(path, value)} was not applied: {reason}.{still}"

    def clear_changes(self) -> None:
        """Back to the scenario as loaded."""
        self._install(self.raw, self.source, self.label, {})

    @property
    def seed(self) -> int:
        return self.spec.model.seed

    # ------------------------------------------------------------------ running
    def read(self, view: Callable[[], T]) -> T:
        """``view()`` while no step or rebuild is under way (pages render from other threads)."""
        with self.lock:
            return view()

    def _build(self) -> None:
        self.model = MarketModel(self.spec, rng=self.spec.model.seed)
        self.history = RunHistory(self.model)
        self.revision += 1

    def reset(self) -> None:
        """Start the run again from day 0 with the same scenario and seed."""
        with self.lock:
            self.error = None
            self._build()

    def step(self, days: int = 1) -> None:
        """Advance the live model ``days`` days, recording each."""
        with self.lock:
            for _ in range(days):
                self.model.step()
                self.history.capture(self.model)
            self.revision += 1

    @property
    def day(self) -> int:
        return self.model.steps

    @property
    def run_length(self) -> int:
        """Days a run lasts: play stops here ([model] steps)."""
        return self.spec.model.steps

    @property
    def finished(self) -> bool:
        return self.day >= self.run_length

    # ------------------------------------------------------------------ compare
    def compare_value(self, name: str, path: str) -> Any:
        """A parameter's value in variant A or B (its change, else the current scenario's)."""
        changes = self.compare.a if name == "A" else self.compare.b
        return changes[path] if path in changes else self.value(path)

    def set_compare_parameter(self, name: str, path: str, value: Any) -> bool:
        """Change one parameter of variant A or B; False (and :attr:`compare_error`) if rejected."""
        changes = dict(self.compare.a if name == "A" else self.compare.b)
        if value == self.value(path) and type(value) is type(self.value(path)):
            changes.pop(path, None)
        else:
            changes[path] = value
        try:
            variant(self.spec, changes, name)
        except GuanxiError as exc:
            self.refusals[f"{name}:{path}"] = value
            return self._compare_fail(str(exc))
        self.refusals.pop(f"{name}:{path}", None)
        with self.lock:
            if name == "A":
                self.compare.a = changes
            else:
                self.compare.b = changes
            self.compare_error = None
            self.compare_revision += 1
        return True

    def set_compare_design(
        self, reps: int | None = None, steps: int | None = None, seed: int | None = None
    ) -> None:
        with self.lock:
            if reps is not None:
                self.compare.reps = reps
            if steps is not None:
                self.compare.steps = steps
            if seed is not None:
                self.compare.seed = seed
            self.compare_revision += 1

    def compare_request(self) -> ComparisonRequest:
        settings = self.compare
        return ComparisonRequest(
            base=self.spec,
            a_overrides=dict(settings.a),
            b_overrides=dict(settings.b),
            reps=settings.reps,
            steps=settings.steps or self.spec.model.steps,
            seed=self.spec.model.seed if settings.seed is None else settings.seed,
            scenario_changes=dict(self.overrides),
            posterior=self.posterior,
        )

    def start_comparison(self, on_update: Callable[[], None]) -> bool:
        """Start A vs B in the background (cancelling a running one); False if the inputs are invalid."""
        request = self.compare_request()
        try:
            request.variants()
        except GuanxiError as exc:
            return self._compare_fail(str(exc))
        self.cancel_comparison()

        def update() -> None:
            with self.lock:
                if job.state == "done" and job.result is not None and not job.recorded:
                    job.recorded = True
                    number = len(self.comparisons) + 1
                    self.comparisons.append(ComparisonRecord.of(number, job.result))
                self.compare_revision += 1
            on_update()

        job = ComparisonJob(request, update)
        with self.lock:
            self.compare_job = job
            self.compare_error = None
            self.compare_revision += 1
        job.start()
        return True

    @property
    def comparison(self) -> ComparisonResult | None:
        """The last finished comparison (whatever its settings), or None."""
        return self.comparisons[-1].result if self.comparisons else None

    def current_comparison(self) -> ComparisonRecord | None:
        """The newest finished comparison of exactly the settings now in the Compare
        tab (scenario, A, B, replications, days, seed), or None: a result is never
        shown as if it belonged to other settings."""
        request = self.compare_request()
        for record in reversed(self.comparisons):
            if record.result.request == request:
                return record
        return None

    def cancel_comparison(self) -> None:
        job = self.compare_job
        if job is not None and job.running:
            job.cancel()

    def _compare_fail(self, message: str) -> bool:
        with self.lock:
            self.compare_error = message
            self.compare_revision += 1
        return False

    # ------------------------------------------------------------------ posterior
    def load_posterior(self, folder: str) -> bool:
        """Use the calibration posterior in ``folder`` in Compare; False (and
        :attr:`posterior_error`, one line) if it cannot be used, keeping the one loaded."""
        try:
            posterior = open_posterior(folder, self.spec.model_dump(mode="json"))
        except GuanxiError as exc:
            with self.lock:
                self.posterior_error = str(exc)
                self.compare_revision += 1
            return False
        with self.lock:
            self.posterior, self.posterior_error = posterior, None
            self.compare_revision += 1
        return True

    def clear_posterior(self) -> None:
        with self.lock:
            self.posterior, self.posterior_error = None, None
            self.compare_revision += 1

    # ------------------------------------------------------------------ optimise
    def start_optimisation(
        self,
        name: str,
        preset: str,
        on_update: Callable[[], None],
        out: Path | None = None,
    ) -> bool:
        """Run optimisation ``name`` (bundled or a path) with a budget preset in the
        background; False (and :attr:`optimise_error`) if it cannot start. With a
        posterior of the optimisation's scenario loaded, its market states draw their
        parameters from it (``guanxi optimise --posterior``)."""
        try:
            plan = preset_plan(name, preset)
            posterior = self.posterior
            if posterior is not None and posterior.scenario == plan.base.model.name:
                plan = preset_plan(name, preset, posterior=posterior.directory)
        except GuanxiError as exc:
            return self._optimise_fail(str(exc))
        self.cancel_optimisation()

        def update() -> None:
            with self.lock:
                if job.state == "done" and job.front is not None and not job.recorded:
                    job.recorded = True
                    self.pareto = job.front
                self.compare_revision += 1
            on_update()

        job = OptimisationJob(plan, out or new_output_folder(plan.name), update)
        with self.lock:
            self.optimise_job, self.optimise_error, self.optimise_message = job, None, None
            self.compare_revision += 1
        job.start()
        return True

    def cancel_optimisation(self) -> None:
        job = self.optimise_job
        if job is not None and job.running:
            job.cancel()

    def load_pareto(self, folder: str) -> bool:
        """Show the Pareto front of an optimisation's results folder; False (and
        :attr:`optimise_error`) if it cannot be read."""
        try:
            front = load_front(folder)
        except GuanxiError as exc:
            return self._optimise_fail(str(exc))
        with self.lock:
            self.pareto, self.optimise_error, self.optimise_message = front, None, None
            self.compare_revision += 1
        return True

    def pick_pareto_point(self, label: str, variant_name: str) -> bool:
        """Put strategy ``label`` of the front into Compare's A or B (all or nothing)."""
        front = self.pareto
        point = next((p for p in front.points if p.label == label), None) if front else None
        if point is None:
            return self._optimise_fail(f"no strategy '{label}' on the front shown")
        if not apply_pareto_point(self, point, variant_name):
            return self._optimise_fail(
                f"Strategy {label} was not put into {variant_name}: {self.compare_error}"
            )
        with self.lock:
            self.optimise_error = None
            self.optimise_message = f"Strategy {label} is now Compare's strategy {variant_name}."
            self.compare_revision += 1
        return True

    def _optimise_fail(self, message: str) -> bool:
        with self.lock:
            self.optimise_error, self.optimise_message = message, None
            self.compare_revision += 1
        return False

    # ------------------------------------------------------------------ export
    def stamp(self) -> str:
        """What the live run is: version, scenario, changes, seed (on every export)."""
        return stamp_text(self.spec.model.name, self.overrides, self.seed, f"day {self.day}")

    def start_export_zip(self, filename: str, on_update: Callable[[], None]) -> ZipJob:
        """Draw the "Everything" ZIP of the run as it is now, in the background.

        Only the snapshot (tables and chart data) is taken under the lock; drawing the
        PNGs, the slow part, runs while the live run can step.
        """
        with self.lock:
            snapshot = zip_snapshot(self.model, self.history, self.spec.to_toml(), self.stamp())

        def update() -> None:
            with self.lock:
                self.export_revision += 1
            on_update()

        job = ZipJob(snapshot, filename, update)
        with self.lock:
            self.export_job = job
            self.export_revision += 1
        return job.start()

    # ------------------------------------------------------------------ errors
    def report(self, message: str) -> None:
        """Show ``message`` as the session's error (e.g. a failed step)."""
        self._fail(message)

    def _fail(self, message: str) -> bool:
        with self.lock:
            self.error = message
            self.revision += 1
        return False

    def dismiss_error(self) -> None:
        with self.lock:
            self.error = None
            self.revision += 1


def _check_size(spec: Scenario, source: str) -> None:
    if spec.model.n_users > MAX_UI_USERS:
        raise ScenarioError(
            f"{source}: model.n_users: {spec.model.n_users:,} users; the browser UI runs at "
            f"most {MAX_UI_USERS:,} (use `guanxi run` for larger populations)"
        )
