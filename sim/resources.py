"""What this machine can give a run or a sweep, checked before anything is allocated.

* :func:`available_cores` and :func:`available_memory` (CPU affinity; the smaller of
  ``MemAvailable``, the cgroup's memory limit and ``GUANXI_MEMORY_LIMIT``);
* :func:`model_memory` / :func:`check_memory`: a model's memory, estimated from its
  users, firms, ties and days, so `guanxi run` and `guanxi compare` refuse in one
  line a model that would not fit;
* :func:`worker_limit` / :func:`check_workers`: at most one worker per core and
  :data:`WORKER_MEMORY` of memory per worker (more workers than cores only make a
  sweep slower);
* :func:`design_memory`, :func:`check_design_size` and :func:`check_disk`: the
  memory and disk a sweep's plan takes, estimated before the design is built.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import GuanxiError

if TYPE_CHECKING:
    from sim.scenario import Scenario

#: Memory one local worker process needs: the model's imports and one small model.
WORKER_MEMORY = 300 * 2**20
#: Bytes of the sweep process's memory per run (Run records, seeds, the manifest's
#: rows and its JSON text, the design table) and per design value (points, SALib's
#: sample, their JSON). Measured (peak RSS over the imports, SweepStore.create of a
#: 100,000-run grid of 2 factors: 954 B a run; of a 147,456-run Sobol design of 8
#: factors: 2,708 B a run), with a margin of 25-35%.
BYTES_PER_RUN = 1_000
BYTES_PER_VALUE = 150
#: Bytes of DIR/manifest.json and DIR/design.parquet per run and per design value
#: (measured: 105 B a run for the grid above, 397 B for the Sobol design).
DISK_PER_RUN = 80
DISK_PER_VALUE = 25
#: Share of the available memory a plan may take (the rest is for the imports, the
#: progress display and other programs).
MEMORY_SHARE = 0.5


def available_cores() -> int:
    """Cores this process may use (CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_limit() -> tuple[int, str]:
    """The most worker processes this machine runs usefully, and why (for messages)."""
    cores = available_cores()
    memory = available_memory()
    why = f"{cores} core{'s' if cores != 1 else ''}"
    if memory is None:
        return cores, why
    by_memory = max(1, memory // WORKER_MEMORY)
    why += f", {gigabytes(memory)} memory available at about {WORKER_MEMORY // 2**20} MB a worker"
    return int(min(cores, by_memory)), why


def check_workers(workers: int | None, option: str = "--workers") -> int:
    """``workers`` if this machine can run them, else one line saying what it can."""
    from sim.sweep.spec import SweepError

    limit, why = worker_limit()
    if workers is None:
        return limit
    if workers > limit:
        raise SweepError(
            f"{option} {workers}: at most {limit} on this machine ({why}); more workers "
            "than that only slow a sweep down"
        )
    return workers


def design_memory(runs: int, points: int, factors: int, sampled: bool) -> int:
    """Estimated bytes the sweep process needs to plan ``runs`` runs (before building it)."""
    values = points * factors * (2 if sampled else 1)
    return BYTES_PER_RUN * runs + BYTES_PER_VALUE * values


def design_disk(runs: int, points: int, factors: int, sampled: bool) -> int:
    """Estimated bytes of the manifest and design table."""
    values = points * factors * (2 if sampled else 1)
    return DISK_PER_RUN * runs + DISK_PER_VALUE * values


def check_design_size(
    where: str, runs: int, points: int, factors: int, sampled: bool, replications: int
) -> None:
    """Refuse, in one line, a design whose plan would not fit in this machine's memory."""
    from sim.sweep.spec import SweepError

    memory = available_memory()
    if memory is None:
        return
    need = design_memory(runs, points, factors, sampled)
    budget = int(memory * MEMORY_SHARE)
    if need > budget:
        per_run = need / max(runs, 1)
        fits = int(budget // per_run)
        raise SweepError(
            f"{where}: {points:,} points x {replications} replications = {runs:,} runs would "
            f"need about {gigabytes(need)} of memory to plan, {gigabytes(memory)} is "
            f"available; at most about {fits:,} runs here (fewer samples, levels or "
            "replications)"
        )


def check_disk(folder: Path, where: str, need: int) -> None:
    """Refuse, in one line, to start writing ``need`` bytes where fewer are free."""
    from sim.sweep.spec import SweepError

    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if need > free:
        raise SweepError(
            f"{where}: the sweep's manifest and design table need about {gigabytes(need)}, "
            f"{gigabytes(free)} is free there; free some space or choose another --out"
        )


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
