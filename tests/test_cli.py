"""The top-level CLI: help on every command, one-line errors."""

from cli_runner import run_cli


def test_help_lists_commands():
    res = run_cli("--help")
    assert res.exit_code == 0
    assert "version" in res.stdout


def test_unknown_command_is_a_usage_error():
    res = run_cli("no-such-command")
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr
