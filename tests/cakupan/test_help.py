"""The command explains itself: flags read as flags, dates as DATE, every option described,
the environment each running command needs named in its help, and a version."""

import re
from importlib.metadata import version

import pytest

COMMANDS = ("nightly", "backfill", "generate", "report", "explain", "serve", "demo")
OPTION = re.compile(r"^  (--[a-z-]+)(?: ([A-Z]+))?(?:\s{2,}(\S.*))?$")


@pytest.fixture
def help_of(embedded_command):
    """help_of(*command): the help the command prints, 100 columns wide."""

    def text(*command: str) -> str:
        result = embedded_command(*command, "--help", env={"COLUMNS": "100"})
        assert result.returncode == 0, result.stderr
        return result.stdout

    return text


def options(text: str) -> dict[str, tuple[str, str]]:
    """--option: (METAVAR, first line of its description)."""
    found = {}
    for line in text.split("Options:", 1)[1].splitlines():
        match = OPTION.match(line)
        if match:
            found[match[1]] = (match[2] or "", match[3] or "")
    return found


def test_version(embedded_command):
    result = embedded_command("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"cakupan {version('cakupan')}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_described_flags_take_no_value_and_dates_are_dates(help_of, command):
    text = help_of(command)
    found = options(text)

    assert not re.findall(r"<[a-z ]+>", text)  # no "<bool>", "<str>", "<int range>" placeholders
    assert found["--debug"] == ("", "Show tracebacks and library logs.")
    for option, (metavar, description) in found.items():
        assert description, f"{command} {option} is not described"
    for option in ("--as-of", "--start", "--end"):
        if option in found:
            assert found[option][0] == "DATE", (command, option)
    if "--resume" in found:
        assert found["--resume"][0] == ""


def test_seed_is_described(help_of):
    metavar, description = options(help_of("generate"))["--seed"]
    assert metavar == "N" and description.startswith("Seed of the random generator: the same seed, the same files.")


@pytest.mark.parametrize("command, needed", [
    ("nightly", "CAKUPAN_PII_KEY (required)"),
    ("backfill", "CAKUPAN_PII_KEY (required)"),
    ("nightly", "CAKUPAN_SETTLE_SECONDS (default 120)"),
    ("demo", "CAKUPAN_PII_KEY is not read"),
    ("serve", "PREFECT_API_URL (required)"),
    ("serve", "PREFECT_SERVER_UI_API_URL"),  # the name Prefect 3.9 documents (PREFECT_UI_API_URL is its old alias)
])
def test_help_names_the_environment_the_command_needs(help_of, command, needed):
    assert needed in " ".join(help_of(command).split())
