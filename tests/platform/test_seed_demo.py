"""`manage.py seed_demo`, as `make run` runs it before serving."""

import subprocess

from tests import servers

LABELS = ("staff user:", "demo resident:", "her API token:", "try it:")


def run_in_one_stream(command: list[str], env: dict[str, str]) -> list[str]:
    """The output lines of a manage.py command, stdout and stderr as one terminal shows
    them (both unbuffered, in the order written)."""
    result = subprocess.run(
        [str(servers.BIN / "python"), "manage.py", *command],
        env=env,
        cwd=servers.REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    return result.stdout.splitlines()


def test_seed_demo_prints_the_accounts_as_one_block_after_the_logs_of_seeding(tmp_path):
    with servers.database_of_its_own(tmp_path, "seed") as database_url:
        env = servers.subprocess_env(
            DJANGO_SETTINGS_MODULE="city.settings.dev", DATABASE_URL=database_url, LOG_FORMAT=None
        )
        run_in_one_stream(["migrate", "--noinput", "-v0"], env)
        first = run_in_one_stream(["seed_demo"], env)
        second = run_in_one_stream(["seed_demo"], env)
    start = next(i for i, line in enumerate(first) if line.startswith("staff user:"))
    logs, block = first[:start], first[start:]
    assert any("newcomer_registered" in line for line in logs)  # seeding logged, before
    assert not any("[info" in line or "[warning" in line for line in block)
    assert [line for line in block if line.startswith(LABELS)] == block[: len(LABELS)]
    # A second run seeds nothing new and prints the same accounts, ada's token included.
    assert [line for line in second if line.startswith(LABELS)] == block[: len(LABELS)]
