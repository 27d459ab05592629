# pragma version ~=0.4.3
"""
@title Tessera network policy
@custom:contract-name policy
@license Apache-2.0
@notice What token holders decided about serving: the model versions
        nodes may advertise as approved and whom each one's royalty is
        paid to, and the content policy, the
        contributions (by CID) and whole datanets that honest nodes stop
        retrieving, serving and attributing, and `training_weight_bps`:
        how a nat of log-likelihood an adapter's training gave counts
        against a nat its prompt's context gave when the contributors'
        pool of an answer is divided between the two.
@dev Owned by the governance timelock, so every change is a passed
     proposal. `version` counts changes: a node reads it once per request
     and reloads the lists only when it moved, which makes a change take
     effect from the block after it lands. The lists are enumerable
     (swap-and-pop) so that a node reads each in one call.
"""

from snekmate.auth import ownable

initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)


_MAX_MODELS: constant(uint256) = 64
_MAX_BLOCKED_CIDS: constant(uint256) = 1_024
_MAX_BLOCKED_DATANETS: constant(uint256) = 256
MAX_TRAINING_WEIGHT_BPS: constant(uint256) = 100_000  # 10x: past it, context would barely count


struct ModelVersion:
    model_id: String[128]
    weights_digest: bytes32  # sha256 over the model's weight files, as nodes compute it
    owner: address  # its builder, paid the royalty; named by the vote, so no one can squat it


version: public(uint256)
_models: DynArray[ModelVersion, _MAX_MODELS]
_model_position: HashMap[bytes32, uint256]  # index + 1; 0 = absent
_ever_approved: HashMap[bytes32, bool]  # stays true after a revocation
_royalty_owner: HashMap[bytes32, address]  # named at the first approval, never changed
_blocked_cids: DynArray[String[128], _MAX_BLOCKED_CIDS]
_cid_position: HashMap[bytes32, uint256]
_blocked_datanets: DynArray[uint256, _MAX_BLOCKED_DATANETS]
_datanet_position: HashMap[uint256, uint256]
# training share = w*Gt / (w*Gt + Gc), w = training_weight_bps / 10_000
training_weight_bps: public(uint256)
# exactly one previous value: a receipt signed before `training_weight_since` was under it
previous_training_weight_bps: public(uint256)
training_weight_since: public(uint256)  # block.timestamp of the last change; 0 = never changed


event ModelApproved:
    model_id: String[128]
    weights_digest: bytes32
    owner: address


event ModelRevoked:
    model_id: String[128]
    weights_digest: bytes32


event ContentBlocked:
    cid_hash: indexed(bytes32)
    cid: String[128]


event ContentUnblocked:
    cid_hash: indexed(bytes32)
    cid: String[128]


event DatanetBlocked:
    datanet: indexed(uint256)


event DatanetUnblocked:
    datanet: indexed(uint256)


event TrainingWeightSet:
    weight_bps: uint256
    previous_bps: uint256


@deploy
def __init__():
    """
    @notice The deployer owns the policy until it hands it to the timelock.
            A nat the adapter gave starts out counting as much as one the
            context gave (a training weight of 10_000 bps, 1.0).
    """
    ownable.__init__()
    self.training_weight_bps = 10_000
    self.previous_training_weight_bps = 10_000


@external
def approve_model(model_id: String[128], weights_digest: bytes32, owner: address):
    """
    @notice Approves a model version, an id and the digest of its weights,
            and names the account its royalty is paid to.
    @dev The royalty follows the vote, not a first-come registration:
         whoever names a model id first cannot take its owner's share. A
         version approved again after a revocation keeps its first owner,
         so who is paid for a receipt never depends on when it is checked.
    @param model_id The model's id as nodes serve it.
    @param weights_digest The sha256 over its weight files.
    @param owner Its builder (zero: the royalty goes to the treasury).
    """
    ownable._check_owner()
    assert len(model_id) != 0, "policy: empty model id"
    assert weights_digest != empty(bytes32), "policy: zero weights digest"
    key: bytes32 = self._model_key(model_id, weights_digest)
    assert self._model_position[key] == 0, "policy: model version already approved"
    assert len(self._models) < _MAX_MODELS, "policy: model list full"
    assert not self._ever_approved[key] or self._royalty_owner[key] == owner, (
        "policy: a model version keeps its first owner"
    )
    self._models.append(
        ModelVersion(model_id=model_id, weights_digest=weights_digest, owner=owner)
    )
    self._model_position[key] = len(self._models)
    self._ever_approved[key] = True
    self._royalty_owner[key] = owner
    self.version += 1
    log ModelApproved(model_id=model_id, weights_digest=weights_digest, owner=owner)


@external
def revoke_model(model_id: String[128], weights_digest: bytes32):
    """
    @notice Withdraws a model version's approval.
    @param model_id The model's id.
    @param weights_digest The digest it was approved with.
    """
    ownable._check_owner()
    key: bytes32 = self._model_key(model_id, weights_digest)
    position: uint256 = self._model_position[key]
    assert position != 0, "policy: model version not approved"
    last: ModelVersion = self._models.pop()
    if position <= len(self._models):  # the removed entry was not the last: move the last into it
        self._models[position - 1] = last
        self._model_position[self._model_key(last.model_id, last.weights_digest)] = position
    self._model_position[key] = 0
    self.version += 1
    log ModelRevoked(model_id=model_id, weights_digest=weights_digest)


@external
def block_content(cid: String[128]):
    """
    @notice Blocks one contribution: nodes stop retrieving and attributing it.
    @param cid The contribution's content id.
    """
    ownable._check_owner()
    assert len(cid) != 0, "policy: empty cid"
    key: bytes32 = keccak256(cid)
    assert self._cid_position[key] == 0, "policy: content already blocked"
    assert len(self._blocked_cids) < _MAX_BLOCKED_CIDS, "policy: blocklist full"
    self._blocked_cids.append(cid)
    self._cid_position[key] = len(self._blocked_cids)
    self.version += 1
    log ContentBlocked(cid_hash=key, cid=cid)


@external
def unblock_content(cid: String[128]):
    """
    @notice Lifts a contribution's block.
    @param cid The contribution's content id.
    """
    ownable._check_owner()
    key: bytes32 = keccak256(cid)
    position: uint256 = self._cid_position[key]
    assert position != 0, "policy: content not blocked"
    last: String[128] = self._blocked_cids.pop()
    if position <= len(self._blocked_cids):
        self._blocked_cids[position - 1] = last
        self._cid_position[keccak256(last)] = position
    self._cid_position[key] = 0
    self.version += 1
    log ContentUnblocked(cid_hash=key, cid=cid)


@external
def block_datanet(datanet: uint256):
    """
    @notice Blocks every contribution of a datanet.
    @param datanet The registry's datanet id.
    """
    ownable._check_owner()
    assert datanet != 0, "policy: datanet ids start at 1"
    assert self._datanet_position[datanet] == 0, "policy: datanet already blocked"
    assert len(self._blocked_datanets) < _MAX_BLOCKED_DATANETS, "policy: datanet list full"
    self._blocked_datanets.append(datanet)
    self._datanet_position[datanet] = len(self._blocked_datanets)
    self.version += 1
    log DatanetBlocked(datanet=datanet)


@external
def unblock_datanet(datanet: uint256):
    """
    @notice Lifts a datanet's block.
    @param datanet The registry's datanet id.
    """
    ownable._check_owner()
    position: uint256 = self._datanet_position[datanet]
    assert position != 0, "policy: datanet not blocked"
    last: uint256 = self._blocked_datanets.pop()
    if position <= len(self._blocked_datanets):
        self._blocked_datanets[position - 1] = last
        self._datanet_position[last] = position
    self._datanet_position[datanet] = 0
    self.version += 1
    log DatanetUnblocked(datanet=datanet)


@external
def set_training_weight(weight_bps: uint256):
    """
    @notice Sets how much a nat of log-likelihood gain from an adapter's
            training counts against one from the prompt's context when
            the contributors' pool of an answer is divided between them.
    @dev Keeps exactly one previous value and the time of the change, so
         a validator checking a receipt signed before it knows the weight
         that was in force; two changes before a check lose the older one.
    @param weight_bps The weight in basis points of 1.0 (0 pays training
           nothing; at most MAX_TRAINING_WEIGHT_BPS, 10x).
    """
    ownable._check_owner()
    assert weight_bps <= MAX_TRAINING_WEIGHT_BPS, "policy: training weight above 10x"
    assert weight_bps != self.training_weight_bps, "policy: training weight unchanged"
    previous: uint256 = self.training_weight_bps
    self.previous_training_weight_bps = previous
    self.training_weight_bps = weight_bps
    self.training_weight_since = block.timestamp
    self.version += 1
    log TrainingWeightSet(weight_bps=weight_bps, previous_bps=previous)


@external
@view
def is_model_approved(model_id: String[128], weights_digest: bytes32) -> bool:
    """
    @notice Whether a model version is approved.
    @param model_id The model's id.
    @param weights_digest The digest of its weights.
    @return bool True if approved.
    """
    return self._model_position[self._model_key(model_id, weights_digest)] != 0


@external
@view
def was_approved(model_id: String[128], weights_digest: bytes32) -> bool:
    """
    @notice Whether a model version was ever approved, even if revoked
            since: a receipt served while the approval was in force is
            not a fault.
    @param model_id The model's id.
    @param weights_digest The digest of its weights.
    @return bool True if it was approved at some point.
    """
    return self._ever_approved[self._model_key(model_id, weights_digest)]


@external
@view
def model_owner(model_id: String[128], weights_digest: bytes32) -> address:
    """
    @notice Whom an approved model version's royalty is paid to.
    @param model_id The model's id.
    @param weights_digest The digest of its weights.
    @return address Its owner; zero if unapproved or approved without one.
    """
    position: uint256 = self._model_position[self._model_key(model_id, weights_digest)]
    if position == 0:
        return empty(address)
    return self._models[position - 1].owner


@external
@view
def royalty_owner(model_id: String[128], weights_digest: bytes32) -> address:
    """
    @notice Whom a model version's royalty is paid to in settlement: the
            owner named when it was approved, kept after a revocation, so
            that receipts served under the approval pay its builder.
    @param model_id The model's id.
    @param weights_digest The digest of its weights.
    @return address Its owner; zero (the treasury) if never approved or
            approved without one.
    """
    return self._royalty_owner[self._model_key(model_id, weights_digest)]


@external
@view
def is_content_blocked(cid: String[128]) -> bool:
    """
    @notice Whether a contribution is blocked by CID (not by its datanet).
    @param cid The contribution's content id.
    @return bool True if blocked.
    """
    return self._cid_position[keccak256(cid)] != 0


@external
@view
def is_datanet_blocked(datanet: uint256) -> bool:
    """
    @notice Whether a whole datanet is blocked.
    @param datanet The registry's datanet id.
    @return bool True if blocked.
    """
    return self._datanet_position[datanet] != 0


@external
@view
def approved_models() -> DynArray[ModelVersion, _MAX_MODELS]:
    """
    @notice Every approved model version, in no particular order.
    @return DynArray The versions.
    """
    return self._models


@external
@view
def blocked_content() -> DynArray[String[128], _MAX_BLOCKED_CIDS]:
    """
    @notice Every blocked CID, in no particular order.
    @return DynArray The CIDs.
    """
    return self._blocked_cids


@external
@view
def blocked_datanets() -> DynArray[uint256, _MAX_BLOCKED_DATANETS]:
    """
    @notice Every blocked datanet id, in no particular order.
    @return DynArray The ids.
    """
    return self._blocked_datanets


@internal
@pure
def _model_key(model_id: String[128], weights_digest: bytes32) -> bytes32:
    """
    @dev One key per (id, digest): several versions of one id can be approved.
    """
    return keccak256(abi_encode(model_id, weights_digest))
