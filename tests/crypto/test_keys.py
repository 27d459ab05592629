import json

import pytest

from tessera._crypto.keys import Keystore
from tessera._errors import AccountError


@pytest.fixture
def keystore(tmp_path):
    return Keystore(tmp_path / "keys", scrypt_n=2**4)


def test_created_account_unlocks_with_its_password(keystore):
    info = keystore.create("alice", "pw")
    assert keystore.unlock("alice", "pw").address == info.address
    assert keystore.unlock(info.address.lower(), "pw").address == info.address


def test_keystore_file_is_standard_v3_json(keystore):
    info = keystore.create("alice", "pw")
    data = json.loads(info.path.read_text())
    assert data["version"] == 3
    assert data["crypto"]["kdf"] == "scrypt"
    assert "0x" + data["address"].lower() == info.address.lower()
    assert info.path.stat().st_mode & 0o777 == 0o600


def test_wrong_password_says_what_to_do(keystore):
    keystore.create("alice", "pw")
    with pytest.raises(AccountError, match="wrong password for account 'alice'.*TESSERA_PASSWORD"):
        keystore.unlock("alice", "nope")


def test_unknown_account_lists_the_known_ones(keystore):
    keystore.create("alice", "pw")
    with pytest.raises(AccountError, match=r"no account 'bob'.*known: alice"):
        keystore.find("bob")


@pytest.mark.parametrize("name", ["", "a b", "../evil", "x" * 65])
def test_bad_account_names_are_refused(keystore, name):
    with pytest.raises(AccountError, match="not allowed"):
        keystore.create(name, "pw")


def test_duplicate_name_and_empty_password_are_refused(keystore):
    keystore.create("alice", "pw")
    with pytest.raises(AccountError, match="already exists"):
        keystore.create("alice", "pw")
    with pytest.raises(AccountError, match="empty password"):
        keystore.create("bob", "")
