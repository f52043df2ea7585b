"""Log formats: lines for people under `make run` (dev), JSON everywhere else."""

import json
import os
import subprocess

from tests import servers

# Our own structlog call and a library's stdlib record, as a process of City logs them.
SCRIPT = """
import logging
import django
django.setup()
from city.logging import get_logger
get_logger("city.example").info("resident_greeted", who="ada")
logging.getLogger("django.example").warning("a library speaks")
"""


def logged(settings_module: str, *, stderr=subprocess.PIPE, **env: str):
    """Run SCRIPT under `settings_module` (LOG_FORMAT unset unless given); the finished
    process, its stderr captured."""
    return subprocess.run(
        [str(servers.BIN / "python"), "-c", SCRIPT],
        env=servers.production_env(
            DJANGO_SETTINGS_MODULE=settings_module, **{"LOG_FORMAT": None, **env}
        ),
        cwd=servers.REPO,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=60,
        check=False,
    )


def test_dev_logs_readable_lines_without_colours_when_stderr_is_not_a_terminal():
    result = logged("city.settings.dev")
    assert result.returncode == 0, result.stderr
    ours, library = result.stderr.splitlines()
    assert "[info     ] resident_greeted" in ours
    assert "[city.example]" in ours
    assert "who=ada" in ours
    assert "[warning  ] a library speaks" in library
    assert "\x1b[" not in result.stderr  # no terminal colour codes in a pipe or a file


def test_dev_logs_in_colour_on_a_terminal():
    leader, follower = os.openpty()
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        with os.fdopen(follower, "wb") as stderr:
            result = logged("city.settings.dev", stderr=stderr)
        written = terminal.read(65536)  # the process wrote a few short lines, all there
    assert result.returncode == 0
    assert b"resident_greeted" in written
    assert b"\x1b[" in written


def test_production_logs_json_lines():
    result = logged("city.settings.production")
    assert result.returncode == 0, result.stderr
    ours, library = (json.loads(line) for line in result.stderr.splitlines())
    assert ours["event"] == "resident_greeted"
    assert ours["who"] == "ada"
    assert ours["level"] == "info"
    assert ours["logger"] == "city.example"
    assert library["event"] == "a library speaks"
    assert library["level"] == "warning"


def test_log_format_from_the_environment_overrides_the_dev_default():
    result = logged("city.settings.dev", LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stderr.splitlines()[0])["event"] == "resident_greeted"


def test_an_unknown_log_format_is_refused_at_startup_with_the_choices():
    result = logged("city.settings.production", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of json, console, not 'xml'" in result.stderr


def test_an_empty_log_format_means_the_settings_modules_default():
    dev = logged("city.settings.dev", LOG_FORMAT="")
    production = logged("city.settings.production", LOG_FORMAT="")
    assert "[info     ] resident_greeted" in dev.stderr
    assert json.loads(production.stderr.splitlines()[0])["event"] == "resident_greeted"
