# pragma version ~=0.4.3
"""
@title Tessera receipt evidence
@custom:contract-name receipt_evidence
@license Apache-2.0
@notice A node's receipt as a challenge submits it: the signed fields,
        the node's signature, the hash of the receipt's canonical body,
        the node's payout state after it (`payout_state.vy`), and the
        Merkle proof of its leaf under the epoch's receipts root.
        The digest is the EIP-712 one nodes sign, under the domain
        "Tessera Node" v1 whose verifying contract is the registry.
@dev Leaves are `keccak256(keccak256(abi_encode(index, digest,
     keccak256(signature), body_hash, payout_root, payout_total)))`, inner nodes hash sorted pairs
     (snekmate's `merkle_proof_verification`), as `tessera._payments.
     receipts_tree` builds them. Signatures are read by the contracts' own
     rules (65 bytes (r, s, v) or 64 (EIP-2098), low `s`), as snekmate's
     `ecdsa` does, except that a bad one yields the zero address instead
     of reverting: an unreadable signature is itself the fault to prove.
"""

from snekmate.utils import merkle_proof_verification


_DOMAIN_TYPE_HASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_RECEIPT_TYPE_HASH: constant(bytes32) = keccak256(
    "Receipt(bytes32 requestHash,bytes32 responseHash,string model,bytes32 modelDigest,"
    "bytes32 datanetsHash,bytes32 attributionHash,bytes32 transcriptHash,"
    "bytes32 authorizationHash,uint256 price,address client,uint256 timestamp)"
)
_REQUEST_TYPE_HASH: constant(bytes32) = keccak256(
    "Request(address node,bytes32 requestHash,uint256 nonce)"
)
# the largest low `s` (secp256k1's order / 2), as snekmate's ecdsa
_MALLEABILITY_THRESHOLD: constant(uint256) = (
    57_896_044_618_658_097_711_785_492_504_343_953_926_418_782_139_537_452_191_302_581_570_759_080_747_168
)
MAX_PROOF: constant(uint256) = 32


struct ReceiptEvidence:
    index: uint256
    request_hash: bytes32
    response_hash: bytes32
    model: String[128]
    model_digest: bytes32
    datanets_hash: bytes32
    attribution_hash: bytes32
    transcript_hash: bytes32
    authorization_hash: bytes32
    price: uint256
    client: address
    timestamp: uint256
    signature: Bytes[65]
    body_hash: bytes32
    payout_root: bytes32  # the node's payout state once this receipt is split
    payout_total: uint256
    proof: DynArray[bytes32, MAX_PROOF]


receipt_domain_separator: public(bytes32)


@deploy
def __init__(registry: address):
    """
    @dev Fixes the receipts' domain: this chain, and the deployment's registry.
    @param registry The registry, the verifying contract of every receipt.
    """
    assert registry != empty(address), "disputes: zero registry"
    self.receipt_domain_separator = keccak256(
        abi_encode(
            _DOMAIN_TYPE_HASH,
            keccak256("Tessera Node"),
            keccak256("1"),
            chain.id,
            registry,
        )
    )


@external
@view
def receipt_digest(evidence: ReceiptEvidence) -> bytes32:
    """
    @notice The EIP-712 digest a node signs for this receipt.
    @param evidence The receipt's signed fields (the rest is ignored).
    @return bytes32 The digest.
    """
    return self._digest(evidence)


@internal
@view
def _digest(evidence: ReceiptEvidence) -> bytes32:
    struct_hash: bytes32 = keccak256(
        abi_encode(
            _RECEIPT_TYPE_HASH,
            evidence.request_hash,
            evidence.response_hash,
            keccak256(evidence.model),
            evidence.model_digest,
            evidence.datanets_hash,
            evidence.attribution_hash,
            evidence.transcript_hash,
            evidence.authorization_hash,
            evidence.price,
            evidence.client,
            evidence.timestamp,
        )
    )
    return self._typed(struct_hash)


@internal
@view
def _typed(struct_hash: bytes32) -> bytes32:
    return keccak256(concat(b"\x19\x01", self.receipt_domain_separator, struct_hash))


@internal
@view
def _in_root(evidence: ReceiptEvidence, root: bytes32) -> bool:
    """
    @dev Whether the receipt is leaf `evidence.index` of the tree with `root`.
    """
    # double hashed against second pre-image attacks
    leaf: bytes32 = keccak256(
        keccak256(
            abi_encode(
                evidence.index,
                self._digest(evidence),
                keccak256(evidence.signature),
                evidence.body_hash,
                evidence.payout_root,
                evidence.payout_total,
            )
        )
    )
    return merkle_proof_verification._verify(evidence.proof, root, leaf)


@internal
@view
def _signed_by_node(evidence: ReceiptEvidence, node: address) -> bool:
    return self._signer(self._digest(evidence), evidence.signature) == node


@internal
@view
def _client_authorized(
    evidence: ReceiptEvidence, node: address, nonce: uint256, signature: Bytes[65]
) -> bool:
    """
    @dev Whether the receipt's client signed `Request(node, request_hash,
         nonce)`; reverts unless the receipt commits to exactly that
         authorization. A receipt without one (hash zero) is authorized
         only when free.
    """
    if evidence.authorization_hash == empty(bytes32):
        return evidence.price == 0
    # the receipt commits to its authorization: a challenger cannot swap in another
    assert keccak256(abi_encode(nonce, signature)) == evidence.authorization_hash, (
        "disputes: authorization does not match the receipt"
    )
    request: bytes32 = keccak256(abi_encode(_REQUEST_TYPE_HASH, node, evidence.request_hash, nonce))
    signer: address = self._signer(self._typed(request), signature)
    return signer != empty(address) and signer == evidence.client


@internal
@pure
def _signer(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev Who signed `digest`; the zero address for a signature the
         contracts' rules refuse (wrong length, high `s`, unrecoverable).
    """
    r: uint256 = 0
    s: uint256 = 0
    v: uint256 = 0
    if len(signature) == 65:
        r = extract32(signature, 0, output_type=uint256)
        s = extract32(signature, 32, output_type=uint256)
        v = convert(slice(signature, 64, 1), uint256)
    elif len(signature) == 64:
        r = extract32(signature, 0, output_type=uint256)
        vs: uint256 = extract32(signature, 32, output_type=uint256)
        s = vs & convert(max_value(int256), uint256)
        v = (vs >> 255) + 27
    else:
        return empty(address)
    if s > _MALLEABILITY_THRESHOLD:
        return empty(address)
    return ecrecover(digest, v, r, s)
