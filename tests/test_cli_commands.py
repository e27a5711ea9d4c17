"""The command modules: every one listed is registered, commands are importable module-level
objects, and a listed module that does not exist is an error, not a silently missing command."""

from __future__ import annotations

import importlib

import click
import pytest

from cityradar import cli as cli_module
from cityradar.cli import COMMAND_MODULES, CommandModuleError, register_commands
from tests.conftest import REPO_ROOT


def test_every_command_module_is_listed_and_every_listed_one_exists() -> None:
    on_disk = {p.stem for p in (REPO_ROOT / "cityradar" / "commands").glob("*.py")
               if p.stem != "__init__"}
    assert set(COMMAND_MODULES) == on_disk


def test_commands_are_module_level_objects_that_the_cli_registers() -> None:
    registered = cli_module.cli.commands
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"cityradar.commands.{name}")
        own = {value.name: value for value in vars(module).values()
               if isinstance(value, click.Command)}
        group = click.Group("probe")
        module.register(group)
        assert group.commands, f"{name} registers no command"
        for command_name, command in group.commands.items():
            # the very object defined at module level, the one `cityradar` runs
            assert own.get(command_name) is command, (name, command_name)
            assert registered[command_name] is command, (name, command_name)
    from cityradar.commands.alerts import alerts, detect

    assert registered["detect"] is detect and set(alerts.commands) == {
        "list", "show", "ack", "resolve"}


def test_a_missing_command_module_is_an_error() -> None:
    group = click.Group("probe")
    with pytest.raises(CommandModuleError, match=r"cityradar\.commands\.no_such_area"):
        register_commands(group, ("alerts", "no_such_area"))


def test_a_module_without_register_is_an_error() -> None:
    with pytest.raises(CommandModuleError, match="does not define register"):
        register_commands(click.Group("probe"), ("__init__",))


def test_a_command_module_whose_dependency_is_missing_says_which(tmp_path, monkeypatch) -> None:
    """A missing third-party module inside a command module is not mistaken for a missing
    command module: its own ModuleNotFoundError surfaces, naming the dependency."""
    import cityradar.commands

    (tmp_path / "broken_probe.py").write_text("import no_such_dependency_of_cityradar\n")
    monkeypatch.setattr(cityradar.commands, "__path__",
                        [*cityradar.commands.__path__, str(tmp_path)])
    with pytest.raises(ModuleNotFoundError) as caught:
        register_commands(click.Group("probe"), ("broken_probe",))
    assert caught.value.name == "no_such_dependency_of_cityradar"
