"""Reading scenarios: bundled names or TOML paths, parsed as data and validated.

Loading never executes anything: files are parsed with :mod:`tomllib` as data and
validated with the schema (:mod:`sim.schema`). Every failure becomes a
:class:`ScenarioError` whose message is one line naming the file, the key and what
is allowed. Parameters are read, written and described by dotted path in
:mod:`sim.parameters`. The schema's classes are importable from here too.
"""

from __future__ import annotations

import codecs
import difflib
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import GuanxiError
from sim.schema import (  # noqa: F401 (the schema's classes, importable from here)
    CONTENT_TYPES,
    PRESETS,
    ContentMix,
    CrmSection,
    FirmSection,
    GuanxiSection,
    MarketSection,
    ModelSection,
    NetworkSection,
    Scenario,
    Section,
    StrategySection,
    UsersSection,
)


def _scenario_dir() -> Path:
    """Where the bundled scenarios (and their ``sweeps/``) are: the top-level
    ``scenarios/`` folder of a source checkout (an editable install reads it in
    place), else the copy a wheel carries as package data in ``sim/scenarios/``
    (made at build time by setup.py from that same folder, its one source)."""
    package = Path(__file__).resolve().parent
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "scenarios").is_dir():
        return checkout / "scenarios"
    return package / "scenarios"


SCENARIO_DIR = _scenario_dir()
MAX_SCENARIO_BYTES = 1_000_000


class ScenarioError(GuanxiError):
    """A scenario (file, override or value) that cannot be used; message is one line."""


# --------------------------------------------------------------------------- loading
def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario files by name (file stem)."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A bundled scenario's name or a path to a TOML file."""
    text = str(name_or_path)
    bundled = bundled_scenarios()
    if text in bundled and not Path(text).exists():
        return bundled[text]
    return Path(text)


def resolve_bundled_file(
    name_or_path: str | Path, bundled: Mapping[str, Path], kind: str, error: type[Exception]
) -> Path:
    """A path that exists, else a bundled file's name; ``error`` in one line otherwise
    (sweep, optimisation and calibration files)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    raise error(f"{path}: no such {kind} file; bundled: {', '.join(bundled) or 'none'}")


def base_scenario_data(
    named: str | None,
    inline: dict[str, Any] | None,
    source: str,
    folder: Path,
    key: str,
    error: type[Exception],
) -> tuple[dict[str, Any], str]:
    """The base scenario of a sweep or optimisation file: ``key`` names a bundled
    scenario or a file (beside the file first), or an inline ``[scenario]`` table is
    given; exactly one of the two. Returns the raw data and where it came from."""
    if named is not None and inline is not None:
        raise error(f"{source}: {key} and an inline [scenario] table both given; keep one")
    if inline is not None:
        return inline, f"{source} [scenario]"
    if named is None:
        raise error(
            f"{source}: {key}: missing; name a bundled scenario (e.g. 'baseline'), "
            "a scenario file, or give an inline [scenario] table"
        )
    beside = folder / named
    path = beside if beside.is_file() else resolve_scenario_path(named)
    if not path.is_file():
        raise error(
            f"{source}: {key}: '{named}' is not a file (beside the file or from here) nor a "
            f"bundled scenario; bundled: {', '.join(bundled_scenarios())}"
        )
    return read_scenario_file(path), str(path)


def read_scenario_file(path: Path) -> dict[str, Any]:
    """Parse a scenario file into raw data; every failure is one ScenarioError line.

    Only a regular file is read (a FIFO, a device such as /dev/zero or a socket is
    refused without waiting on it), and at most :data:`MAX_SCENARIO_BYTES` + 1 bytes.
    """
    raw = read_limited(path, MAX_SCENARIO_BYTES, "a TOML scenario file", ScenarioError)
    return parse_scenario_bytes(raw, str(path))


def read_limited(path: Path, limit: int, expected: str, error: type[GuanxiError]) -> bytes:
    """The bytes of the regular file ``path``, refused in one line if above ``limit``."""
    try:
        # Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        bundled = f"; bundled scenarios: {', '.join(bundled_scenarios())}"
        raise error(f"{path}: no such file{bundled if error is ScenarioError else ''}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected {expected}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a directory, expected {expected}")
        if not stat.S_ISREG(info.st_mode):
            kind = _file_kind(info.st_mode)
            raise error(f"{path}: not a regular file ({kind}); expected {expected}")
        if info.st_size > limit:
            raise error(
                f"{path}: {info.st_size:,} bytes; {expected} may be at most {limit:,} bytes"
            )
        chunks, size = [], 0
        while size <= limit:  # at most limit + 1 bytes
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        raw = b"".join(chunks)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # the file grew since fstat
        raise error(f"{path}: more than {limit:,} bytes; {expected} may be at most {limit:,} bytes")
    return raw


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


def parse_scenario_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """Parse the bytes of a scenario (file or upload) as TOML data.

    A UTF-8 byte-order mark at the start is accepted (and dropped).
    """
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"{source}: {len(raw)} bytes; a scenario may be at most {MAX_SCENARIO_BYTES} bytes"
        )
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if not raw.strip():
        raise ScenarioError(
            f"{source}: file is empty; expected a TOML scenario with [[markets]] and [[firms]]"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: not a text file (not UTF-8); expected TOML") from None
    if "\x00" in text:
        raise ScenarioError(f"{source}: not a text file (binary data); expected TOML")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            f"{source}: malformed TOML: arrays or inline tables nested too deeply"
        ) from None


def load_scenario(
    name_or_path: str | Path = "baseline", overrides: Iterable[str] | Mapping[str, Any] = ()
) -> Scenario:
    """Load, override and validate a scenario; raises ScenarioError with one line.

    The file and ``--set`` text are read strictly: a value must be of its key's type
    (``enabled = "yes"``, ``n_users = true`` or ``n_users = 2000.0`` are refused, not
    converted). Overrides given by a program as a mapping are validated as before.
    """
    path = resolve_scenario_path(name_or_path)
    raw = read_scenario_file(path)
    if isinstance(overrides, Mapping):
        if overrides:
            scenario_from_data(raw, str(path), strict=True)  # the file itself, strictly
        return scenario_from_data(raw, str(path), overrides, strict=not overrides)
    return scenario_from_data(raw, str(path), overrides, strict=True)


def scenario_from_data(
    raw: Mapping[str, Any],
    source: str,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    strict: bool = False,
) -> Scenario:
    """Validate raw scenario data after applying dotted-path overrides.

    ``strict``: no conversion between types (pydantic's strict mode), as for files.
    """
    from sim.parameters import describe_validation_error, parse_assignment, set_path

    data = _deep_copy(raw)
    pairs = (
        overrides.items() if isinstance(overrides, Mapping) else map(parse_assignment, overrides)
    )
    for dotted, value in pairs:
        set_path(data, dotted, value, source)
    try:
        return Scenario.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe_validation_error(exc, data)}") from None
    except ValueError as exc:  # raised by validators outside pydantic's wrapping
        raise ScenarioError(f"{source}: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: values nested too deeply") from None


def suggest(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest choice, else the list of choices."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; allowed: {', '.join(choices)}"


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


# Walking the schema by dotted path (overrides, field info, error messages) lives in
# sim.parameters, which reads the models above; its names stay importable from here.
