"""The pseudonymisation key: strong for a new warehouse, checked at the start of every writing run."""

import hashlib


def test_a_short_key_is_refused_for_a_new_warehouse_with_how_to_make_one(cakupan_command, error_words, landing,
                                                                          tmp_path):
    warehouse = tmp_path / "new" / "cakupan.duckdb"
    result = cakupan_command("nightly", "--as-of", "2025-03-12", "--landing", landing, "--warehouse", warehouse,
                             env={"CAKUPAN_PII_KEY": "x" * 31})
    assert result.returncode == 2
    words = error_words(result)
    assert "CAKUPAN_PII_KEY is too short (31 bytes; a new warehouse needs at least 32)" in words
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in words
    assert not warehouse.exists()


def test_a_wrong_key_is_refused_even_when_nothing_is_new(cakupan_command, error_words, warehouse_copy,
                                                         generated_landing):
    before = hashlib.sha256(warehouse_copy.read_bytes()).hexdigest()
    result = cakupan_command("nightly", "--as-of", "2025-03-06", "--landing", generated_landing,
                             "--warehouse", warehouse_copy, env={"CAKUPAN_PII_KEY": "another-key-" + "k" * 32})
    assert result.returncode == 1
    assert "differs from the one this warehouse was loaded with" in error_words(result)
    assert hashlib.sha256(warehouse_copy.read_bytes()).hexdigest() == before


def test_the_right_key_with_nothing_new_completes(cakupan_command, warehouse_copy, generated_landing):
    result = cakupan_command("nightly", "--as-of", "2025-03-06", "--landing", generated_landing,
                             "--warehouse", warehouse_copy)
    assert result.returncode == 0, result.stderr
