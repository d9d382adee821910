"""Running one scenario and writing what happened: the engine behind `guanxi run`.

Outputs in a directory (all deterministic for a scenario and seed, so two runs
with the same inputs are byte-identical):

* ``model.parquet``: model-level series per step (focal firm, guanxi graph);
* ``firms.parquet``: per firm per step (CRM capability, performance, books, ties);
* ``firm_market.parquet``: per firm, target market and step (attitude, funnel,
  engagement rate, conversions, revenue, costs, CAC, retention, share of voice);
* ``guanxi_edges.parquet``: the ties over time with strength and the benefit each
  side received; ``guanxi_events.parquet``: ties formed and severed, with reasons;
* ``summary.json``: the fully resolved scenario, the seed, the package version and
  the focal firm's outcomes; with ``plot=True``, PNG charts of the main series.

`guanxi run --out DIR` writes the set as one transaction (:class:`OutputDir`): into a
new directory beside DIR, renamed to DIR once every file is written, so DIR holds
one whole run or is left as it was. Before a model is built, :func:`check_memory`
refuses one that would not fit in this machine's memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import GuanxiError, os_error_text
from sim.model import MarketModel
from sim.scenario import Scenario


def package_version() -> str:
    try:
        return version("guanxi-sim")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def run_model(
    spec: Scenario,
    steps: int | None = None,
    seed: int | None = None,
    on_step: Callable[[int], None] | None = None,
) -> MarketModel:
    """Build the model from ``spec`` and run it for ``steps`` days (default [model] steps)."""
    model = MarketModel(spec, rng=spec.model.seed if seed is None else seed)
    for day in range(steps if steps is not None else spec.model.steps):
        model.step()
        if on_step is not None:
            on_step(day + 1)
    return model


def run_with_progress(spec: Scenario, steps: int, seed: int, show: bool | None = None):
    """Run with a progress bar on long runs (when the terminal is interactive)."""
    if show is None:
        show = sys.stderr.isatty() and steps * spec.model.n_users * len(spec.firms) >= 2e7
    if not show:
        return run_model(spec, steps, seed)
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        # The description is the scenario's name: shown as it is, never read as markup.
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(spec.model.name, total=steps)
        return run_model(spec, steps, seed, lambda _: progress.advance(task))


# ---------------------------------------------------------------------- frames
def model_frame(model: MarketModel) -> pd.DataFrame:
    frame = model.datacollector.get_model_vars_dataframe().reset_index(names="step")
    return frame


def firms_frame(model: MarketModel) -> pd.DataFrame:
    frame = model.datacollector.get_agent_vars_dataframe().reset_index()
    return frame.rename(columns={"Step": "step", "AgentID": "agent_id"})


def firm_market_frame(model: MarketModel) -> pd.DataFrame:
    return model.datacollector.get_table_dataframe("firm_market")


def edges_frame(model: MarketModel) -> pd.DataFrame:
    return model.datacollector.get_table_dataframe("guanxi_edges")


def events_frame(model: MarketModel) -> pd.DataFrame:
    columns = ["step", "firm_a", "firm_b", "event", "reason"]
    return pd.DataFrame([asdict(e) for e in model.guanxi.events], columns=columns)


def focal_outcomes(model: MarketModel) -> dict[str, Any]:
    """The focal firm's outcomes at the end of a run: the numbers strategists compare."""
    firm = model.focal
    fm = firm_market_frame(model)
    mine = fm[fm.firm == firm.name]
    by_market = {}
    for market, rows in mine.groupby("market", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        by_market[market] = {
            "attitude": float(last.attitude_mean),
            "attitude_change": float(last.attitude_mean - first.attitude_mean),
            "awareness": float(last.awareness),
            "followers": int(last.followers),
            "customers": int(last.customers),
            "engagement_rate": float(rows.engagement_rate.iloc[1:].mean())
            if len(rows) > 1
            else 0.0,
            "conversions": int(rows.conversions.sum()),
            "revenue": float(rows.revenue.sum()),
        }
    return {
        "firm": firm.name,
        "attitude": firm.mean_attitude,
        "followers": firm.followers,
        "customers": firm.customers,
        "conversions": int(mine.conversions.sum()),
        "revenue": firm.total_revenue,
        "profit": firm.total_profit,
        "crm_capability": firm.crm_capability,
        "performance": firm.performance,
        "ties": firm.ties,
        "markets": by_market,
    }


def firm_summary_rows(model: MarketModel) -> list[dict[str, Any]]:
    """One row per firm and market, focal firm first, for the terminal summary."""
    fm = firm_market_frame(model)
    first_step = fm[fm.step == fm.step.min()].set_index(["firm", "market"])
    last = fm[fm.step == fm.step.max()]
    totals = fm.groupby(["firm", "market"])[["conversions", "revenue"]].sum()
    engagement = fm[fm.step > 0].groupby(["firm", "market"])["engagement_rate"].mean()
    firms = sorted(model.firms, key=lambda f: (not f.is_focal, f.index))
    rows = []
    for firm in firms:
        for _, r in last[last.firm == firm.name].iterrows():
            key = (r.firm, r.market)
            rows.append(
                {
                    "firm": firm.name + (" (focal)" if firm.is_focal else ""),
                    "market": r.market,
                    "attitude": r.attitude_mean,
                    "attitude_change": r.attitude_mean - first_step.loc[key, "attitude_mean"],
                    "followers": int(r.followers),
                    "engagement_rate": float(engagement.get(key, 0.0)),
                    "conversions": int(totals.loc[key, "conversions"]),
                    "revenue": float(totals.loc[key, "revenue"]),
                    "profit": firm.total_profit,
                    "crm_capability": firm.crm_capability,
                    "ties": firm.ties,
                }
            )
    return rows


# ---------------------------------------------------------------------- writing
class OutputError(GuanxiError):
    """A file of a run could not be written (disk full, no permission, ...).

    ``path`` is the file, ``reason`` the system's word for what went wrong.
    """

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path, self.reason = path, os_error_text(exc)
        super().__init__(f"cannot write {path}: {self.reason}")


def write_outputs(model: MarketModel, out_dir: Path, seed: int, plot: bool = False) -> list[Path]:
    """Write the Parquet series, summary.json and (optionally) PNG charts to ``out_dir``.

    A file that cannot be written raises :class:`OutputError` naming it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    tables = {
        "model.parquet": model_frame(model),
        "firms.parquet": firms_frame(model),
        "firm_market.parquet": firm_market_frame(model),
        "guanxi_edges.parquet": edges_frame(model),
        "guanxi_events.parquet": events_frame(model),
    }
    for name, frame in tables.items():
        written.append(_atomic_parquet(frame, out_dir / name))
    summary = {
        "package": "guanxi-sim",
        "version": package_version(),
        "seed": seed,
        "steps": model.steps,
        "focal": focal_outcomes(model),
        "scenario": model.spec.model_dump(mode="json"),
    }
    path = out_dir / "summary.json"
    _atomic_write_text(path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    written.append(path)
    if plot:
        import matplotlib

        from sim.plots import plot_run

        # Firm and market names are the user's: a '$' in one is text, not mathtext.
        try:
            with matplotlib.rc_context({"text.parse_math": False}):
                written.extend(plot_run(tables, model.spec, out_dir))
        except OSError as exc:
            raise OutputError(out_dir / "*.png", exc) from None
    return written


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc) from None
    return path


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(path, exc) from None


# ---------------------------------------------------------------------- run directories
#: What `guanxi run --out` writes; a directory of these (and its summary.json) is a run.
RUN_FILES = (
    "model.parquet",
    "firms.parquet",
    "firm_market.parquet",
    "guanxi_edges.parquet",
    "guanxi_events.parquet",
    "summary.json",
)


def run_in(folder: Path) -> int | None:
    """The seed of the guanxi run whose outputs ``folder`` holds, else None."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(summary, dict) or summary.get("package") != "guanxi-sim":
        return None
    seed = summary.get("seed")
    return seed if isinstance(seed, int) else -1


def _is_run_file(name: str) -> bool:
    return name in RUN_FILES or name.endswith(".png") or name.endswith(".tmp")


class OutputDir:
    """`guanxi run --out DIR` as a transaction: write a new directory, rename it to DIR.

    :meth:`prepare` checks DIR before the model runs: a new or empty directory, or,
    with ``overwrite``, one that holds a previous run and nothing else; anything else
    is refused. It creates the staging directory ``.DIR.<random>.tmp`` beside DIR (so
    an unwritable place fails at once). :meth:`write` writes the run there and renames
    it to DIR (a previous run is swapped out in one step where the system can, Linux's
    ``renameat2``, else moved aside to ``.DIR.<random>.old`` first: a kill between
    those two renames leaves both runs whole, beside DIR). DIR never holds files of
    two runs; a failed write removes the staging directory and leaves DIR as it was.
    """

    def __init__(
        self, out: Path, target: Path, overwrite: bool, staging: Path, made: list[Path]
    ) -> None:
        self.out, self.target, self.overwrite, self.staging = out, target, overwrite, staging
        self.shown = f"--out {out}"
        self.made = made  # parent directories created for DIR, deepest first

    @classmethod
    def prepare(cls, out: Path, overwrite: bool = False) -> OutputDir:
        shown = f"--out {out}"
        target = Path(out).expanduser().resolve()
        if str(out).strip() == "" or not target.name:
            raise GuanxiError(f"{shown}: name a directory to create, e.g. --out runs/baseline")
        if target.exists() and not target.is_dir():
            raise GuanxiError(f"{shown}: exists and is not a directory")
        if target == Path.cwd() or target in Path.cwd().parents:
            raise GuanxiError(
                f"{shown}: is the current directory (or holds it); name a directory to "
                "create, e.g. --out runs/baseline"
            )
        cls._check_target(target, shown, overwrite)
        made = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = _new_sibling(target, "tmp", shown)
        except (OSError, GuanxiError) as exc:
            _remove_empty(made)
            if isinstance(exc, GuanxiError):
                raise
            raise GuanxiError(
                f"{shown}: cannot create {target.parent}: {os_error_text(exc)}"
            ) from None
        return cls(Path(out), target, overwrite, staging, made)

    @staticmethod
    def _check_target(target: Path, shown: str, overwrite: bool) -> None:
        """Refuse a directory that holds other files, or a previous run without overwrite."""
        try:
            names = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
        except OSError as exc:
            raise GuanxiError(f"{shown}: cannot read the directory: {os_error_text(exc)}") from None
        if not names:
            return
        seed = run_in(target)
        others = [name for name in names if not _is_run_file(name)]
        if seed is None or others:
            listed = ", ".join(others or names)
            listed = listed if len(listed) <= 80 else listed[:77] + "..."
            raise GuanxiError(
                f"{shown}: not empty and not a guanxi run ({listed}); choose a new or empty "
                "directory"
            )
        if not overwrite:
            raise GuanxiError(
                f"{shown}: holds a previous run (seed {seed}); add --overwrite to replace "
                "it, or choose another directory"
            )

    def write(self, model: MarketModel, seed: int, plot: bool = False) -> list[Path]:
        """Write the run to the staging directory and rename it to DIR; paths in DIR."""
        try:
            written = write_outputs(model, self.staging, seed, plot=plot)
        except OutputError as exc:
            self.discard()
            raise GuanxiError(
                f"{self.shown}: cannot write {exc.path.name}: {exc.reason}; nothing was "
                f"written to {self.out} (free some space or choose another --out, and run "
                "again: the same seed gives the same results)"
            ) from None
        except BaseException:
            self.discard()
            raise
        self._commit()
        return [self.target / path.name for path in written]

    def _commit(self) -> None:
        try:
            self._check_target(self.target, self.shown, self.overwrite)
        except GuanxiError as exc:  # DIR changed during the run: keep what was computed
            raise GuanxiError(f"{exc}; this run's files are in {self.staging}") from None
        old = None
        try:
            if self.target.is_dir() and any(self.target.iterdir()):
                if _exchange(self.staging, self.target):
                    shutil.rmtree(self.staging, ignore_errors=True)  # now the previous run
                    return
                old = _new_sibling(self.target, "old", self.shown, create=False)
                os.rename(self.target, old)
            os.rename(self.staging, self.target)  # DIR missing or empty: replaced at once
        except OSError as exc:
            if old is not None and not self.target.exists():
                os.rename(old, self.target)
            raise GuanxiError(
                f"{self.shown}: cannot move the run into place: {os_error_text(exc)}; this "
                f"run's files are in {self.staging}"
            ) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove the staging directory, and the parents made for DIR, after a failure."""
        shutil.rmtree(self.staging, ignore_errors=True)
        _remove_empty(self.made)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    False where the system or the file system cannot; other failures raise OSError.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), exchange) == 0:
        return True
    number = ctypes.get_errno()
    if number in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(number, os.strerror(number), str(second))


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _new_sibling(target: Path, kind: str, shown: str, create: bool = True) -> Path:
    """A new hidden path beside ``target``: ``.NAME.<random>.KIND`` (created if asked)."""
    for _ in range(100):
        path = target.with_name(f".{target.name}.{secrets.token_hex(4)}.{kind}")
        if not create:
            if not os.path.lexists(path):
                return path
            continue
        try:
            path.mkdir()  # mode 0o777 & ~umask, like any new directory
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise GuanxiError(
                f"{shown}: cannot write in {target.parent}: {os_error_text(exc)}"
            ) from None
    raise GuanxiError(f"{shown}: cannot find a free temporary name in {target.parent}")


# ---------------------------------------------------------------------- memory
#: Peak memory of a model over its imports (about 300 MB), measured with runs of
#: 0.2-1 million users, 1-50 firms, 0-100 strong and weak ties per user and 3-8000
#: days (peak RSS), rounded up: per user, per user and firm (the model's users x
#: firms arrays), per tie of a user (the sparse network while it is built), per
#: firm, target market and day (the recorded series) and per guanxi tie recorded.
BYTES_PER_USER = 100
BYTES_PER_USER_FIRM = 24
BYTES_PER_USER_TIE = 45
BYTES_PER_CELL_DAY = 1_000
BYTES_PER_EDGE_RECORD = 400
#: Caps the memory a run may plan for (bytes, or with K, M, G, T), below what is available.
MEMORY_LIMIT_VARIABLE = "GUANXI_MEMORY_LIMIT"


def model_memory(spec: Scenario, steps: int) -> tuple[int, int]:
    """Estimated bytes of a model of ``spec`` run ``steps`` days: (population, series)."""
    n_firms = len(spec.firms)
    ties = spec.network.strong_ties + spec.network.weak_ties
    if spec.network.structure != "social":
        ties = 0
    per_user = BYTES_PER_USER + BYTES_PER_USER_FIRM * n_firms + BYTES_PER_USER_TIE * ties
    cells = sum(len(firm.strategies) for firm in spec.firms)
    series = steps * (BYTES_PER_CELL_DAY * (cells + n_firms))
    if spec.guanxi.enabled:
        pairs = min(n_firms * spec.guanxi.max_partners // 2, n_firms * (n_firms - 1) // 2)
        snapshots = steps // spec.model.edge_snapshot_interval + 1
        series += BYTES_PER_EDGE_RECORD * pairs * snapshots
    return spec.model.n_users * per_user, series


def available_memory() -> int | None:
    """Bytes of memory this process may still use, or None where unknown.

    The smaller of the system's available memory (``MemAvailable``, else free pages),
    the cgroup's limit less its use, and :data:`MEMORY_LIMIT_VARIABLE` if set.
    """
    found: list[int] = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        limit = _read_number(limit_file)
        if limit is not None and limit < 2**60:
            found.append(max(0, limit - (_read_number(usage_file) or 0)))
            break
    cap = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    if cap:
        found.append(parse_bytes(cap, MEMORY_LIMIT_VARIABLE))
    return min(found) if found else None


def _read_number(path: str) -> int | None:
    try:
        with open(path) as file:
            text = file.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def parse_bytes(text: str, where: str) -> int:
    """``"8G"``, ``"512M"``, ``"1000000"`` -> bytes."""
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    number, unit = text.upper().removesuffix("B"), ""
    if number[-1:] in units:
        number, unit = number[:-1], number[-1]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not 0 < value < 2**60:
        raise GuanxiError(f"{where}: expected a size in bytes such as 8G or 512M, got {text!r}")
    return int(value * units[unit])


def gigabytes(n: float) -> str:
    """``n`` bytes for a message: "43.8 GB", "512 MB"."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _round_down(n: int) -> int:
    """``n`` to two significant digits, rounded down (a limit that is an estimate)."""
    if n < 100:
        return n
    unit = 10 ** (len(str(n)) - 2)
    return n // unit * unit


def check_memory(spec: Scenario, steps: int, steps_key: str = "model.steps", copies: int = 1):
    """Refuse, in one line, a run whose model would not fit in the available memory.

    ``copies``: models held at once (local worker processes). The line names the
    key that makes the model large (``model.n_users`` or ``steps_key``) and the
    largest value that fits here.
    """
    available = available_memory()
    if available is None:
        return
    population, series = model_memory(spec, steps)
    need = copies * (population + series)
    if need <= available:
        return
    budget = available // copies
    users = spec.model.n_users
    ties = (
        0
        if spec.network.structure != "social"
        else spec.network.strong_ties + spec.network.weak_ties
    )
    at_once = f" x {copies} at once (--workers)" if copies > 1 else ""
    if population >= series:
        fits = _round_down(max(0, (budget - series) * users // population))
        raise GuanxiError(
            f"model.n_users: {users:,} users x {len(spec.firms)} firms, {ties} ties a user"
            f"{at_once} need about {gigabytes(need)} of memory, {gigabytes(available)} is "
            f"available; allowed here: model.n_users <= about {fits:,} (or fewer firms or "
            "ties)"
        )
    fits = _round_down(max(0, (budget - population) * steps // series))
    raise GuanxiError(
        f"{steps_key}: {steps:,} days of series{at_once} need about {gigabytes(need)} of "
        f"memory, {gigabytes(available)} is available; allowed here: {steps_key} <= about "
        f"{fits:,}"
    )
