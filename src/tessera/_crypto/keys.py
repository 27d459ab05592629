"""Local accounts in standard Ethereum keystore (v3) JSON files, one per named account."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from tessera._errors import AccountError

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# scrypt with geth's "light" cost: a second per unlock, not four. Tests lower it further.
DEFAULT_SCRYPT_N = 2**14


@dataclass(frozen=True)
class AccountInfo:
    name: str
    address: str
    path: Path


class Keystore:
    def __init__(self, folder: Path, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        self.folder = Path(folder)
        self.scrypt_n = scrypt_n

    def create(self, name: str, password: str, private_key: bytes | None = None) -> AccountInfo:
        if not _NAME.match(name):
            raise AccountError(
                f"account name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-'"
            )
        if not password:
            raise AccountError("an empty password cannot protect a keystore: set TESSERA_PASSWORD")
        path = self.folder / f"{name}.json"
        if path.exists():
            raise AccountError(f"account {name!r} already exists in {self.folder}")
        account = Account.from_key(private_key) if private_key else Account.create()
        keyfile = Account.encrypt(account.key, password, kdf="scrypt", iterations=self.scrypt_n)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            json.dump(keyfile, handle)
        tmp.replace(path)
        return AccountInfo(name, account.address, path)

    def list(self) -> list[AccountInfo]:
        if not self.folder.exists():
            return []
        infos = []
        for path in sorted(self.folder.glob("*.json")):
            address = json.loads(path.read_text()).get("address", "")
            infos.append(AccountInfo(path.stem, to_checksum_address("0x" + address), path))
        return infos

    def find(self, name_or_address: str) -> AccountInfo:
        for info in self.list():
            if info.name == name_or_address or (
                is_address(name_or_address) and info.address.lower() == name_or_address.lower()
            ):
                return info
        known = ", ".join(i.name for i in self.list()) or "none"
        raise AccountError(
            f"no account {name_or_address!r} in {self.folder} (known: {known}): "
            "create it with `tessera account new NAME`"
        )

    def unlock(self, name_or_address: str, password: str) -> LocalAccount:
        info = self.find(name_or_address)
        try:
            key = Account.decrypt(json.loads(info.path.read_text()), password)
        except ValueError:
            raise AccountError(
                f"wrong password for account {info.name!r}: set TESSERA_PASSWORD to the password "
                "it was created with"
            ) from None
        return Account.from_key(key)
