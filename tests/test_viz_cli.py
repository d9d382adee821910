"""`guanxi ui`: registered in the CLI, local by default, offline settings, clear errors."""

from __future__ import annotations

import os
import socket

import pytest

from sim.cli import build_parser, main
from sim.errors import GuanxiError
from sim.ui_cli import APP, DEFAULT_HOST, DEFAULT_PORT, check_port_free, solara_arguments
from viz.offline import LOCAL_ONLY_CDN, OFFLINE_ENVIRONMENT


def test_ui_command_binds_localhost_by_default():
    args = build_parser().parse_args(["ui"])
    assert (args.host, args.port) == (DEFAULT_HOST, DEFAULT_PORT)
    assert DEFAULT_HOST == "127.0.0.1"  # local only unless told otherwise
    args = build_parser().parse_args(["ui", "--host", "0.0.0.0", "--port", "9000", "--no-open"])
    assert (args.host, args.port, args.open_browser) == ("0.0.0.0", 9000, False)


def test_bad_port_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ui", "--port", "70000"])
    assert exit_info.value.code == 2
    assert "expected a port 1..65535" in capsys.readouterr().err


def test_solara_is_run_on_the_app_in_production_without_calling_home():
    arguments = solara_arguments("127.0.0.1", 8765, open_browser=False)
    assert arguments[0] == str(APP) and APP.exists()
    assert "--production" in arguments and "--no-check-version" in arguments
    assert "--no-open" in arguments
    assert arguments[arguments.index("--host") + 1] == "127.0.0.1"


def test_offline_environment_points_every_fetch_at_this_machine():
    assert OFFLINE_ENVIRONMENT["SOLARA_ASSETS_PROXY"] == "True"
    assert OFFLINE_ENVIRONMENT["SOLARA_ASSETS_CDN"] == LOCAL_ONLY_CDN
    assert LOCAL_ONLY_CDN.startswith("http://127.0.0.1:")
    assert OFFLINE_ENVIRONMENT["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_the_local_assets_are_installed():
    from viz.offline import local_asset_directory

    assets = local_asset_directory()
    assert os.path.exists(os.path.join(assets, "echarts@5.4.0", "dist", "echarts.min.js"))
    assert os.path.isdir(os.path.join(assets, "@widgetti"))


def test_a_busy_port_is_one_clear_line(capsys, monkeypatch):
    for name in OFFLINE_ENVIRONMENT:  # `guanxi ui` sets these; restore them afterwards
        monkeypatch.setenv(name, os.environ.get(name, ""))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(GuanxiError, match=f"--port {port}: cannot listen there"):
            check_port_free("127.0.0.1", port)
        assert main(["ui", "--port", str(port), "--no-open"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("guanxi: error: --host 127.0.0.1") and err.count("\n") == 1


def test_the_data_folder_is_chosen_with_data(tmp_path, monkeypatch, capsys):
    from viz.posterior import DATA_ENV, data_folder

    assert build_parser().parse_args(["ui", "--data", str(tmp_path)]).data == tmp_path
    assert build_parser().parse_args(["ui"]).data is None
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_folder().name == "runs"
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_folder() == tmp_path
    for name in OFFLINE_ENVIRONMENT:  # `guanxi ui` sets these; restore them afterwards
        monkeypatch.setenv(name, os.environ.get(name, ""))
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["ui", "--port", str(port), "--no-open", "--data", str(a_file)]) == 2
    assert f"--data {a_file}: not a folder" in capsys.readouterr().err
