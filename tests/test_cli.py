"""The CLI shell: one-line errors with a hint, exit codes, --debug."""

from __future__ import annotations

import pytest
import typer

from geo_ms import cli
from geo_ms.errors import ConfigError


def test_geoms_error_is_one_line_plus_hint_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "c.toml"
    bad.write_text("[prevalence]\nyeer = 2000\n")
    assert cli.main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"error: {bad}: unknown key 'prevalence.yeer' (did you mean 'prevalence.year'?)"
    assert err[1].startswith("hint: Valid keys in [prevalence]: source, file, year")
    assert len(err) == 2  # no traceback


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_MS_DEBUG", "0")  # main() sets it; restored after the test
    bad = tmp_path / "c.toml"
    bad.write_text("[prevalence]\nyeer = 2000\n")
    with pytest.raises(ConfigError):
        cli.main(["--debug", "run", "--config", str(bad)])


def test_exit_codes_of_commands_are_returned(monkeypatch):
    @cli.app.command("_exit3", hidden=True)
    def _exit3() -> None:
        raise typer.Exit(3)

    assert cli.main(["_exit3"]) == 3


def test_usage_error_exits_non_zero(capsys):
    assert cli.main(["run", "--no-such-flag"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_help_lists_the_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("run", "exposures", "data"):
        assert cmd in out
