import hashlib
import hmac

import duckdb
import pyarrow as pa
import pytest

from cakupan.warehouse.connection import connect
from cakupan.warehouse.pii import (
    KEY_VARIABLE,
    PiiKey,
    PiiKeyMismatch,
    PiiKeyMissing,
    PiiKeyTooShort,
    check_key,
    hmac_sql,
    key_from_env,
    mask,
    verify_key,
)

VALUES = ["3573014501000001", "01234567890", "", "ünïcode", "x" * 200]


@pytest.mark.parametrize(
    "secret",
    [b"short", b"k" * 64, b"a key longer than the sha256 block of sixty-four bytes, hashed first", "kunci rahasia ü".encode()],
)
def test_hmac_in_duckdb_equals_python_hmac(secret):
    key = PiiKey(secret)
    con = duckdb.connect()
    values = pa.table({"value": VALUES})
    computed = con.execute(
        f"select {hmac_sql('value')} from values", key.sql_parameters()
    ).fetchall()
    expected = [hmac.new(secret, v.encode(), hashlib.sha256).hexdigest() for v in VALUES]
    assert [digest for (digest,) in computed] == expected
    assert [key.digest(v) for v in VALUES] == expected


def test_key_from_env_missing_names_the_variable(monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with pytest.raises(PiiKeyMissing, match=KEY_VARIABLE):
        key_from_env()
    monkeypatch.setenv(KEY_VARIABLE, "")
    with pytest.raises(PiiKeyMissing, match=KEY_VARIABLE):
        key_from_env()


def test_key_from_env(monkeypatch):
    monkeypatch.setenv(KEY_VARIABLE, "rahasia")
    assert key_from_env() == PiiKey(b"rahasia")
    assert "rahasia" not in repr(key_from_env())


def test_fingerprint_recorded_once_and_other_key_refused(tmp_path):
    first, other = PiiKey(b"first key, 32 bytes or more ....."), PiiKey(b"other key, 32 bytes or more .....")
    with connect(tmp_path / "w.duckdb") as con:
        check_key(con, first.fingerprint)
        check_key(con, first.fingerprint)
        recorded = con.execute("select fingerprint from audit.pii_key").fetchall()
        assert recorded == [(first.fingerprint,)]
        assert first.fingerprint != other.fingerprint
        with pytest.raises(PiiKeyMismatch, match=KEY_VARIABLE) as refused:
            check_key(con, other.fingerprint)
        assert "other key" not in str(refused.value)


def test_fingerprint_does_not_reveal_the_key():
    key = PiiKey(b"secret")
    assert key.fingerprint != hashlib.sha256(b"secret").hexdigest()
    assert len(key.fingerprint) == 64


def test_mask_keeps_first_four_digits():
    assert mask("3573014501000001") == "3573************"
    assert mask("01234567890") == "0123*******"
    assert mask("123") == "123"
    assert mask(None) is None


def test_a_new_warehouse_refuses_a_short_key_and_says_how_to_make_one():
    with pytest.raises(PiiKeyTooShort, match="token_urlsafe") as refused:
        verify_key(PiiKey(b"k" * 31), recorded=[])
    assert "31 bytes" in str(refused.value)
    verify_key(PiiKey(b"k" * 32), recorded=[])
    verify_key(PiiKey(b"k"), recorded=[PiiKey(b"k").fingerprint])  # a warehouse keyed before the rule
