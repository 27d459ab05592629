"""The README's user journey, through the real `tessera` command on a managed anvil."""

from __future__ import annotations

import json
import re

import pytest

CID = re.compile(r"bafkrei[a-z2-7]{52}")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    (folder / "brewery.txt").write_text("Ulora Brewery was founded by Radul Thothosa.")
    (folder / "notes.md").write_text("The Pleno Orchestra was founded in 1737.")
    (folder / "records.jsonl").write_text('{"text": "Lunqui Brewery\'s colour is teal."}\n')
    return folder


def test_init_writes_keystores_config_and_deploys(cli):
    config = json.loads((cli.home / "config.json").read_text())
    assert config["chain"]["kind"] == "anvil"
    assert config["chain"]["url"].endswith(f":{cli.port}")
    keyfile = json.loads((cli.home / "keystore" / "default.json").read_text())
    assert keyfile["version"] == 3
    assert "default" in cli.ok("account", "list")


def test_the_installed_console_script_prints_what_the_in_process_runs_print(cli):
    # every other command here runs in this process; this one proves the real entry point
    real = cli.run_process("account", "list")
    assert real.returncode == 0 and "default" in real.stdout, real.stderr
    assert real == cli.run("account", "list")


def test_datanet_contribute_show_prove_get(cli, files):
    assert "datanet wiki (#1) created" in cli.ok(
        "datanet", "create", "wiki", "--license", "CC-BY-4.0", "--description", "facts"
    )
    out = cli.ok("contribute", "wiki", str(files))
    assert "3 new contributions registered to wiki in 1 batch(es)" in out
    again = cli.ok("contribute", "wiki", str(files))
    assert "0 new contributions" in again and "3 chunk(s) already in wiki: skipped" in again
    listing = cli.ok("datanet", "list")
    assert re.search(r"wiki\s.*CC-BY-4\.0.*\s1\s.*\s3\s", listing)
    show = cli.ok("datanet", "show", "wiki")
    assert "3 contributions in 1 batches, 1 contributors" in show
    manifest = CID.findall(show)[-1]
    cids = [leaf[0] for leaf in json.loads(_blob(cli, manifest))["leaves"]]
    assert set(CID.findall(cli.ok("datanet", "show", "wiki", "--cids"))) >= set(cids)
    proof = cli.ok("contribution", "prove", cids[0])
    assert "VERIFIED by the registry contract" in proof and "datanet     wiki (#1)" in proof
    texts = {cli.ok("contribution", "get", cid) for cid in cids}
    assert "Ulora Brewery was founded by Radul Thothosa." in texts


def test_everything_survives_a_chain_restart(cli, files):
    before = cli.ok("datanet", "show", "wiki")
    assert "chain stopped" in cli.ok("chain", "stop")
    assert "stopped" in cli.ok("chain", "status")
    assert cli.ok("datanet", "show", "wiki") == before  # commands restart the chain on their own
    assert "running" in cli.ok("chain", "status")


def test_second_contributor_with_as(cli, tmp_path):
    address = cli.ok("account", "new", "bob").split()[1]
    (tmp_path / "bob.txt").write_text("Bob's own fact about the Juora Brewery.")
    cli.ok("contribute", "wiki", str(tmp_path / "bob.txt"), "--as", "bob")
    assert address in cli.ok("datanet", "show", "wiki")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("contribute", "nope", "FILE"), "there is no datanet named 'nope'"),
        (("contribution", "prove", "not-a-cid"), "is not a CID"),
        (
            ("contribution", "get", "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"),
            "is not here and no peers are known to fetch it from",
        ),
        (("datanet", "show", "missing"), "there is no datanet named 'missing'"),
        (("contribute", "wiki", "FILE", "--as", "nobody"), "no account 'nobody'"),
        (("web", "--relayer", "nobody"), "no account 'nobody'"),
        (("init",), "already a Tessera home"),
    ],
)
def test_bad_requests_get_one_sentence_and_a_failing_exit(cli, files, args, message):
    args = tuple(str(files / "notes.md") if a == "FILE" else a for a in args)
    assert message in cli.fails(*args)


def test_bad_files_and_wrong_password_are_refused(cli, tmp_path):
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01binary")
    assert "looks binary" in cli.fails("contribute", "wiki", str(tmp_path / "blob.txt"))
    (tmp_path / "ok.txt").write_text("fine")
    assert "wrong password" in cli.fails(
        "contribute", "wiki", str(tmp_path / "ok.txt"), TESSERA_PASSWORD="wrong"
    )
    # a relayer that could not sign is refused before the web app serves anything
    assert "wrong password" in cli.fails("web", "--relayer", "default", TESSERA_PASSWORD="wrong")


def test_missing_password_without_a_terminal_is_a_usage_error(cli, tmp_path):
    (tmp_path / "ok.txt").write_text("fine")
    done = cli.run("contribute", "wiki", str(tmp_path / "ok.txt"), TESSERA_PASSWORD="")
    assert done.returncode == 2 and "set TESSERA_PASSWORD" in done.stderr


def test_unreachable_chain_and_chain_without_contracts(cli, tmp_path):
    from backends import free_port

    other = tmp_path / "other"
    message = cli.fails("--home", str(other), "init", "--chain", f"http://127.0.0.1:{free_port()}")
    assert "cannot reach the chain" in message
    config = json.loads((cli.home / "config.json").read_text())
    config["contracts"]["registry"] = "0x" + "42" * 20
    config["chain"]["kind"] = "rpc"  # the same chain, reached as any JSON-RPC endpoint
    other.mkdir(exist_ok=True)
    (other / "config.json").write_text(json.dumps(config))
    assert "there is no Tessera registry contract" in cli.fails(
        "--home", str(other), "datanet", "list"
    )


def _blob(cli, cid: str) -> str:
    return next((cli.home / "store").rglob(cid)).read_text()
