"""Messages that neither flood nor hide: thousands of junk names or columns give one short line
(the count and the first few, escaped), and a Prefect API that does not answer is named with
where its URL was set, whether in the environment or in a Prefect profile (`prefect config set`)."""

import os
import socket
import subprocess

from tests.support import PREFECT

SHORT = 1000  # characters: a line a person reads, not a flood


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _profile_with_api_url(tmp_path, url: str) -> dict:
    """A PREFECT_HOME whose active profile sets PREFECT_API_URL, as an operator's `prefect config set` does."""
    home = tmp_path / "prefect-home"
    env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": None}
    merged = {name: value for name, value in {**os.environ, **env}.items() if value is not None}
    subprocess.run([PREFECT, "config", "set", f"PREFECT_API_URL={url}"], env=merged, check=True,
                   capture_output=True, timeout=120)
    return env


def test_twenty_thousand_junk_files_give_one_short_ignored_line(cakupan_command, landing, tmp_path):
    for n in range(20_000):
        (landing / f"junk-{n:05d}.tmp").write_bytes(b"")
    (landing / "zz\nforged").write_bytes(b"")
    warehouse = tmp_path / "w" / "cakupan.duckdb"

    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)

    assert result.returncode == 0, result.stderr[-2000:]
    [line] = [line for line in result.stderr.splitlines() if "ignored" in line]
    assert "ignored 20,001 name(s)" in line and "junk-00000.tmp, junk-00001.tmp" in line
    assert "and 19,996 more" in line and len(line) < SHORT
    assert len(result.stderr) < 20 * SHORT


def test_a_hundred_thousand_column_header_gives_one_short_drift_warning(cakupan_command, landing, tmp_path):
    drifting = landing / "enrolments_20250305.csv"
    header, *rows = drifting.read_text().splitlines()
    extra = 100_000
    drifting.write_text("\n".join([header + "".join(f",extra_{n}" for n in range(extra))]
                                  + [row + "," * extra for row in rows]) + "\n")
    warehouse = tmp_path / "w" / "cakupan.duckdb"

    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse)

    assert result.returncode == 0, result.stderr[-2000:]
    [line] = [line for line in result.stderr.splitlines() if "schema drift" in line]
    assert "enrolments_20250305.csv: schema drift, 100000 extra column(s) ignored: extra_0, extra_1" in line
    assert "and 99,995 more" in line and len(line) < SHORT


def test_a_dead_prefect_api_set_in_a_profile_is_named_with_its_profile(cakupan_command, landing, tmp_path, error_words):
    url = f"http://127.0.0.1:{_free_port()}/api"
    env = _profile_with_api_url(tmp_path, url)

    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing,
                             "--warehouse", tmp_path / "w" / "cakupan.duckdb", env=env, timeout=120)

    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    words = error_words(result)
    assert f"Prefect API {url} does not answer" in words
    assert f"PREFECT_API_URL of Prefect profile 'ephemeral' ({tmp_path / 'prefect-home' / 'profiles.toml'})" in words


def test_a_dead_prefect_api_set_in_the_environment_is_named_so(cakupan_command, landing, tmp_path, error_words):
    url = f"http://127.0.0.1:{_free_port()}/api"

    result = cakupan_command("backfill", "--start", "2025-03-01", "--end", "2025-03-12", "--landing", landing,
                             "--warehouse", tmp_path / "w" / "cakupan.duckdb", env={"PREFECT_API_URL": url},
                             timeout=120)

    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"Prefect API {url} does not answer" in error_words(result)
    assert "the URL comes from PREFECT_API_URL in the environment" in error_words(result)


def test_serve_takes_the_api_url_of_a_prefect_profile(cakupan_command, prefect_server, tmp_path, error_words):
    env = _profile_with_api_url(tmp_path, prefect_server)
    # a missing landing stops it before it registers anything: the only problem it finds
    result = cakupan_command("serve", "--landing", tmp_path / "absent", "--warehouse", tmp_path / "w" / "c.duckdb",
                             env=env, timeout=120)

    assert result.returncode == 2
    assert error_words(result) == f"error: --landing: folder '{tmp_path / 'absent'}' does not exist"
