"""`tessera model train|publish|show|trace|import` as a builder runs them: a tiny base model
for speed, a real chain, and kill -9 in the middle of training."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from adapter_helpers import save_random_adapter

from tessera._models import build_tiny_embedder, build_tiny_generator

FACTS = [
    "Ulora Brewery was founded by Radul Thothosa in the town of Mesk.",
    "Juora Brewery uses violet as its colour and sells plum ale.",
    "The Pleno Orchestra was founded in 1737 by Ivo Trant.",
]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_tiny_generator(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="module")
def builder(cli, tmp_path_factory):
    """The cli home with datanet `brews` holding three facts."""
    folder = tmp_path_factory.mktemp("brews")
    for i, text in enumerate(FACTS):
        (folder / f"{i}.txt").write_text(text)
    cli.ok("datanet", "create", "brews", "--license", "CC-BY-4.0")
    cli.ok("contribute", "brews", str(folder))
    return cli


def _train_args(name: str, base: Path, epochs: int = 2) -> list[str]:
    return ["model", "train", name, "--datanet", "brews", "--base", str(base),
            "--epochs", str(epochs), "--rank", "4", "--augmentation", "sentences",
            "--checkpoint-every", "2"]  # fmt: skip


def test_train_publish_show_and_trace_an_adapter(builder, base):
    trained = builder.ok(*_train_args("brewer", base))
    assert "adapter trained" in trained and "3 contributions" in trained
    folder = builder.home / "adapters" / "brewer"
    card = (folder / "README.md").read_text()
    assert "base_model_relation: adapter" in card and "CC-BY-4.0" in card

    published = builder.ok("model", "publish", "brewer")
    assert "version 1 published" in published
    assert "proven: 3 contributions" in builder.ok("model", "show", "brewer")
    traced = builder.ok("model", "trace", "--model", "brewer")
    assert "every claim checks out" in traced
    cids = re.findall(r"bafkrei[a-z2-7]+", traced)
    assert len(set(cids)) >= 3, traced
    assert "VERIFIED" in builder.ok("contribution", "prove", cids[-1])
    assert "brewer" in builder.ok("model", "list")


def test_bad_training_input_gets_one_sentence_and_exit_1(builder, base, tmp_path):
    not_causal = build_tiny_embedder(tmp_path / "bert")
    for args, said in [
        (["--datanet", "nope"], "no datanet named 'nope'"),
        (["--datanet", "brews", "--rank", "0"], "rank"),
        (["--datanet", "brews", "--base", str(tmp_path)], "holds no transformers model"),
        (["--datanet", "brews", "--base", str(not_causal)], "not a causal language model"),
        (["--datanet", "brews", "--block", "0"], "after the snapshot block"),
    ]:
        done = builder.run("model", "train", "bad", *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert not (builder.home / "adapters" / "bad").exists()


def test_a_run_killed_mid_training_resumes_to_the_same_weights(builder, base):
    builder.ok(*_train_args("straight", base, epochs=12))
    proc = builder.popen(*_train_args("killed", base, epochs=12))
    checkpoints = builder.home / "adapters" / ".checkpoints" / "killed"
    deadline = time.time() + 300
    while (
        not any(checkpoints.glob("*/checkpoint.pt"))
        and proc.poll() is None
        and (time.time() < deadline)
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = builder.ok(*_train_args("killed", base, epochs=12))
    assert "resumed from step" in resumed, resumed
    assert not any(checkpoints.glob("*/checkpoint.pt"))  # a finished run leaves none behind
    weights = "adapter_model.safetensors"
    straight = (builder.home / "adapters" / "straight" / weights).read_bytes()
    assert (builder.home / "adapters" / "killed" / weights).read_bytes() == straight


def test_an_imported_adapter_is_published_as_declared(builder, base, tmp_path):
    source = save_random_adapter(base, tmp_path / "peft", seed=5)
    done = builder.ok("model", "import", str(source), "--name", "outside", "--datanet", "brews",
                      "--base", str(base))  # fmt: skip
    assert "declared, not proven" in done
    builder.ok("model", "publish", "outside")
    assert "DECLARED by the publisher" in builder.ok("model", "show", "outside")
