"""What this machine can give a sweep: cores, memory and disk, checked before allocating.

* :func:`available_cores` and :func:`available_memory` (CPU affinity; the smaller of
  ``MemAvailable`` and the cgroup's memory limit);
* :func:`worker_limit` / :func:`check_workers`: at most one worker per core and
  :data:`WORKER_MEMORY` of memory per worker (a model with its imports takes about
  240 MB; more workers than cores only make a sweep slower);
* :func:`design_memory` and :func:`check_design_size`: the memory a plan of N runs
  and its manifest take, estimated from the number of runs, points and factors
  before the design is built, so a design too large for this machine is refused in
  one line instead of ending in ``MemoryError`` or the OOM killer.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or None if unknown (not Linux)."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    # cgroup v2 (memory.max may be "max"), then v1.
    limit = _read_int("/sys/fs/cgroup/memory.max")
    if limit is not None:
        used = _read_int("/sys/fs/cgroup/memory.current") or 0
        found.append(max(0, limit - used))
    else:
        limit = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        if limit is not None and limit < 2**60:
            used = _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes") or 0
            found.append(max(0, limit - used))
    return min(found) if found else None


def gigabytes(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


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
