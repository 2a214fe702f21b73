"""``crmhub demo`` from the command line: the port it serves on is taken before any data is generated."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app as cli


def test_a_port_in_use_is_reported_before_any_data_is_generated(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output
    assert not (tmp_path / "demo").exists()  # nothing was generated for a demo that cannot be served
