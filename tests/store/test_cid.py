import hashlib

import pytest

from tessera._errors import InputError
from tessera._store.cid import cid_for, cid_from_digest, digest_from_cid


def test_cid_matches_what_ipfs_gives_for_raw_leaves():
    # `ipfs add --cid-version 1 --raw-leaves` of the 5 bytes "hello" gives this CID
    assert cid_for(b"hello") == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"


def test_digest_round_trips_through_the_cid():
    digest = hashlib.sha256(b"tessera").digest()
    assert digest_from_cid(cid_from_digest(digest)) == digest


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "Qm123",
        "bafy",
        "b!!!!",
        cid_for(b"x")[:-3],
        "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    ],
)
def test_malformed_cids_are_rejected_with_a_hint(bad):
    with pytest.raises(InputError, match="CID|base32"):
        digest_from_cid(bad)


def test_digest_of_wrong_length_is_rejected():
    with pytest.raises(InputError, match="32 bytes"):
        cid_from_digest(b"short")
