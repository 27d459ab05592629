# pragma version ~=0.4.3
"""
@title Tessera model registry
@custom:contract-name models
@license Apache-2.0
@notice Model versions and their provenance: who built each one, from
        which base model, on which snapshot of which datanets, with
        which training config. A model id belongs to its first
        publisher (its builder) and a weights digest to the first
        version that names it, so nobody takes a model's name or
        republishes another builder's weights as their own. Versions
        are appended, never changed: an old answer's model version stays
        traceable after a new one is published.
@dev A snapshot names datanets by id (strictly increasing) and, for
     each, how many of its first batches were trained on; it is checked
     against the registry when published, so a version can never claim
     batches that did not exist yet. `data_root` is the Merkle root of
     the contribution CIDs trained on; `data_proven` is false for an
     adapter imported from elsewhere, whose data is declared, not proven.
"""

_MAX_DATANETS: constant(uint256) = 16


struct Datanet:  # as registry.vy's `datanets` getter returns it
    owner: address
    name: String[64]
    license: String[64]
    metadata_cid: String[128]
    created_block: uint256
    batch_count: uint256
    contribution_count: uint256


interface Registry:
    def datanet_count() -> uint256: view
    def datanets(datanet: uint256) -> Datanet: view


struct ModelVersion:
    weights_digest: bytes32  # sha256 over the model folder's files, as nodes compute it
    base_digest: bytes32  # the base model's weights digest
    manifest_cid: String[128]  # the CID of the model folder's manifest
    datanets: DynArray[uint256, _MAX_DATANETS]
    batch_counts: DynArray[uint256, _MAX_DATANETS]  # per datanet: its first N batches
    data_root: bytes32
    data_count: uint256
    config_hash: bytes32
    data_proven: bool
    block_number: uint256


struct DigestVersion:
    model_id: String[128]
    version: uint256  # numbered from 1; 0: never published


registry: public(immutable(Registry))
builder: public(HashMap[String[128], address])
version_count: public(HashMap[String[128], uint256])
model_count: public(uint256)
_model_ids: HashMap[uint256, String[128]]
_versions: HashMap[String[128], HashMap[uint256, ModelVersion]]
_digests: HashMap[bytes32, DigestVersion]


event ModelPublished:
    model_key: indexed(bytes32)  # keccak256 of the model id
    builder: indexed(address)
    weights_digest: indexed(bytes32)
    model_id: String[128]
    version: uint256
    base_digest: bytes32
    manifest_cid: String[128]
    datanets: DynArray[uint256, _MAX_DATANETS]
    batch_counts: DynArray[uint256, _MAX_DATANETS]
    data_root: bytes32
    data_count: uint256
    config_hash: bytes32
    data_proven: bool


@deploy
def __init__(registry_: Registry):
    """
    @notice Binds the model registry to the datanet registry its
            snapshots are checked against.
    @param registry_ The datanet registry (registry.vy).
    """
    assert registry_.address != empty(address), "models: zero registry"
    registry = registry_


@external
def publish(
    model_id: String[128],
    weights_digest: bytes32,
    base_digest: bytes32,
    manifest_cid: String[128],
    datanets: DynArray[uint256, _MAX_DATANETS],
    batch_counts: DynArray[uint256, _MAX_DATANETS],
    data_root: bytes32,
    data_count: uint256,
    config_hash: bytes32,
    data_proven: bool,
) -> uint256:
    """
    @notice Publishes a new version of `model_id`, built by the caller.
    @dev The first publish of an id binds it to the caller; a digest
         already published (by anyone, under any id) is refused.
    @param model_id The model's id, as nodes serve it.
    @param weights_digest The digest of the version's model folder.
    @param base_digest The weights digest of the base model it adapts.
    @param manifest_cid The CID of the model folder's manifest.
    @param datanets The snapshot's datanet ids, strictly increasing.
    @param batch_counts For each datanet, the number of its first batches.
    @param data_root The Merkle root of the contribution CIDs trained on.
    @param data_count The number of contributions trained on.
    @param config_hash The hash of the training config.
    @param data_proven False when the training data is declared, not proven.
    @return uint256 The new version's number (versions start at 1).
    """
    assert len(model_id) != 0, "models: empty model id"
    assert weights_digest != empty(bytes32), "models: zero weights digest"
    assert base_digest != empty(bytes32), "models: zero base digest"
    assert len(manifest_cid) != 0, "models: empty manifest cid"
    assert config_hash != empty(bytes32), "models: zero config hash"
    if data_proven:
        assert data_root != empty(bytes32), "models: proven data without a root"
        assert data_count != 0, "models: proven data without a count"
    bound_to: address = self.builder[model_id]
    assert bound_to == empty(address) or bound_to == msg.sender, (
        "models: model id bound to another builder"
    )
    assert self._digests[weights_digest].version == 0, "models: digest already published"
    self._check_snapshot(datanets, batch_counts)

    if bound_to == empty(address):
        self.builder[model_id] = msg.sender
        self._model_ids[self.model_count] = model_id
        self.model_count += 1
    number: uint256 = self.version_count[model_id] + 1
    self.version_count[model_id] = number
    self._versions[model_id][number] = ModelVersion(
        weights_digest=weights_digest,
        base_digest=base_digest,
        manifest_cid=manifest_cid,
        datanets=datanets,
        batch_counts=batch_counts,
        data_root=data_root,
        data_count=data_count,
        config_hash=config_hash,
        data_proven=data_proven,
        block_number=block.number,
    )
    self._digests[weights_digest] = DigestVersion(model_id=model_id, version=number)
    log ModelPublished(
        model_key=keccak256(model_id),
        builder=msg.sender,
        weights_digest=weights_digest,
        model_id=model_id,
        version=number,
        base_digest=base_digest,
        manifest_cid=manifest_cid,
        datanets=datanets,
        batch_counts=batch_counts,
        data_root=data_root,
        data_count=data_count,
        config_hash=config_hash,
        data_proven=data_proven,
    )
    return number


@external
@view
def version(model_id: String[128], number: uint256) -> ModelVersion:
    """
    @notice One version of a model, as it was published.
    @param model_id The model's id.
    @param number The version's number, from 1 to `version_count`.
    @return ModelVersion Its provenance and the block it was published in.
    """
    assert number != 0 and number <= self.version_count[model_id], "models: unknown version"
    return self._versions[model_id][number]


@external
@view
def model_id_at(index: uint256) -> String[128]:
    """
    @notice The `index`-th model id, in order of first publication.
    @param index From 0 to `model_count` - 1.
    @return String The model id.
    """
    assert index < self.model_count, "models: index out of range"
    return self._model_ids[index]


@external
@view
def digest_builder(weights_digest: bytes32) -> address:
    """
    @notice Who published a weights digest.
    @param weights_digest A version's weights digest.
    @return address Its builder; zero if never published.
    """
    return self.builder[self._digests[weights_digest].model_id]


@external
@view
def digest_model(weights_digest: bytes32) -> String[128]:
    """
    @notice The model id a weights digest was published under.
    @param weights_digest A version's weights digest.
    @return String The model id; empty if never published.
    """
    return self._digests[weights_digest].model_id


@external
@view
def digest_version(weights_digest: bytes32) -> uint256:
    """
    @notice The version number a weights digest was published as.
    @param weights_digest A version's weights digest.
    @return uint256 Its number under `digest_model`; 0 if never published.
    """
    return self._digests[weights_digest].version


@internal
@view
def _check_snapshot(
    datanets: DynArray[uint256, _MAX_DATANETS], batch_counts: DynArray[uint256, _MAX_DATANETS]
):
    """
    @dev Reverts unless every datanet exists, ids strictly increase (so
         none is named twice) and each count is between 1 and the
         datanet's batches registered so far.
    """
    assert len(datanets) != 0, "models: empty snapshot"
    assert len(batch_counts) == len(datanets), "models: one batch count per datanet"
    known: uint256 = staticcall registry.datanet_count()
    previous: uint256 = 0
    for i: uint256 in range(len(datanets), bound=_MAX_DATANETS):
        datanet: uint256 = datanets[i]
        assert datanet != 0 and datanet <= known, "models: unknown datanet"
        assert datanet > previous, "models: datanets not increasing"
        assert batch_counts[i] != 0, "models: no batches of a datanet"
        registered: uint256 = (staticcall registry.datanets(datanet)).batch_count
        assert batch_counts[i] <= registered, "models: more batches than the datanet has"
        previous = datanet
