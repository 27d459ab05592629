// A node's receipt, checked where it is read: every hash its EIP-712 signature covers is
// recomputed from the receipt's own fields, as tessera/_crypto/receipt.py computes it, and
// the signer is recovered by the contracts' rules (_crypto/ecdsa.py).
//
// Pure: no page, no network. The answer page (verify-receipt.js) and the Node test
// (tests/web/test_receipt_check_js.py) import checkReceipt; ".mjs" so that Node reads it as a
// module too. It takes the JSON text, not a parsed object: JSON.parse would round the
// request's numbers, which the request hash covers as Python wrote them.
import { keccak_256, secp256k1 } from "./vendor/noble.mjs";

const DOMAIN_NAME = "Tessera Node"; // authorization.NODE_DOMAIN_NAME
const DOMAIN_VERSION = "1";
const DOMAIN_TYPE =
  "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
// receipt.RECEIPT_TYPES, in order: the message's fields and their types
const RECEIPT_FIELDS = [
  ["requestHash", "bytes32"],
  ["responseHash", "bytes32"],
  ["model", "string"],
  ["modelDigest", "bytes32"],
  ["datanetsHash", "bytes32"],
  ["attributionHash", "bytes32"],
  ["transcriptHash", "bytes32"],
  ["authorizationHash", "bytes32"],
  ["price", "uint256"],
  ["client", "address"],
  ["timestamp", "uint256"],
];
const RECEIPT_TYPE = `Receipt(${RECEIPT_FIELDS.map(([n, t]) => `${t} ${n}`).join(",")})`;
// the signed hashes, the name receipt.to_json gives each under "hashes", and what it covers
const SIGNED_HASHES = [
  ["requestHash", "request_hash", "the request"],
  ["responseHash", "response_hash", "the answer text"],
  ["datanetsHash", "datanets_hash", "the list of datanet snapshots"],
  ["attributionHash", "attribution_hash", "the attribution"],
  ["transcriptHash", "transcript_hash", "the transcript"],
  ["authorizationHash", "authorization_hash", "the client's authorization"],
];
const WEIGHT_SCALE = 1_000_000n; // pools.WEIGHT_SCALE
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const ZERO32 = new Uint8Array(32);
const ZERO_ADDRESS = "0x" + "00".repeat(20);
const utf8 = new TextEncoder();

/** Why a receipt does not verify, in words for the page. */
class Refusal extends Error {}

/**
 * Check a receipt's JSON text (as /receipts/ID.json serves it).
 * @returns {{verified: boolean, reason: string, signer: string|null, node: string|null,
 *   answer: string|null}} `signer` and `node` checksummed; `reason` says what differs.
 */
export function checkReceipt(text) {
  let receipt;
  try {
    receipt = readReceipt(parseJson(text));
  } catch (error) {
    return refused(`the receipt cannot be read (${error.message})`);
  }
  try {
    return checkRead(receipt);
  } catch (error) {
    if (error instanceof Refusal) return refused(error.message, receipt);
    return refused(`the receipt cannot be checked (${error.message})`, receipt);
  }
}

function refused(reason, receipt = null, signer = null) {
  const node = receipt ? checksum(receipt.node) : null;
  return { verified: false, reason, signer, node, answer: receipt && receipt.response_text };
}

function checkRead(receipt) {
  const node = checksum(receipt.node);
  const hashes = signedHashes(receipt);
  const signature = parseSignature(receipt.signature, "node's signature");
  const signer = recoverSigner(digest(receipt, hashes), signature);
  if (signer === node) {
    return { verified: true, reason: "", signer, node, answer: receipt.response_text };
  }
  // the receipt's own "hashes" are not signed: they only say which field changed, when the
  // signature holds over them and not over what the fields hash to now
  const stated = statedHashes(receipt.hashes);
  const changed = SIGNED_HASHES.filter(
    ([field]) => stated[field] && !same(stated[field], hashes[field]),
  );
  if (
    changed.length &&
    recoverSigner(digest(receipt, { ...hashes, ...stated }), signature) === node
  ) {
    const what = changed.map(([, , words]) => words);
    const trained = stated.trainingHash && !same(stated.trainingHash, trainingHash(receipt));
    if (trained) what.push("the training attribution");
    const fields = changed.map(([field]) => field).concat(trained ? ["trainingHash"] : []);
    return refused(
      `${listed(what)} ${what.length > 1 ? "differ" : "differs"} from what the node signed ` +
        `(${fields.join(", ")})`,
      receipt,
      node,
    );
  }
  return refused(
    `the signature recovers to ${signer}, not to the node ${node}: a signed field ` +
      "(the model, price, client, time, chain or contract) changed, or another key signed it",
    receipt,
    signer,
  );
}

function listed(words) {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

// the receipt ---------------------------------------------------------------------------------

function readReceipt(body) {
  if (!isObject(body)) throw new Error("not a JSON object");
  const read = (name, kind, fallback) => typed(body, name, kind, fallback);
  const authorization = read("authorization", "object?", null);
  return {
    node: read("node", "address"),
    chain_id: read("chain_id", "uint"),
    verifying_contract: read("verifying_contract", "address"),
    request: required(body, "request"),
    response_text: read("response_text", "string"),
    model: read("model", "string"),
    model_digest: read("model_digest", "bytes32", "0x" + "00".repeat(32)),
    datanets: read("datanets", "array").map((d) => ({
      datanet: typed(d, "datanet", "uint"),
      root: typed(d, "root", "bytes32"),
      batches: typed(d, "batches", "uint"),
    })),
    attribution: read("attribution", "array").map(source),
    training: read("training", "array", []).map(source),
    training_method: read("training_method", "string", ""),
    training_share_ppm: read("training_share_ppm", "uint", 0n),
    training_weight_bps: read("training_weight_bps", "uint", 0n),
    withheld: read("withheld", "array", []).map((cid) => cidText(cid)),
    withheld_to: read("withheld_to", "string", ""),
    context: read("context", "array", []).map((cid) => cidText(cid)),
    answer_tokens: read("answer_tokens", "array", []).map((t) => integer(t, "an answer token")),
    method: read("method", "string", ""),
    authorization: authorization && {
      nonce: typed(authorization, "nonce", "uint"),
      signature: typed(authorization, "signature", "string"),
    },
    price: read("price", "uint"),
    client: read("client", "address"),
    timestamp: read("timestamp", "uint"),
    signature: read("signature", "string", ""),
    hashes: read("hashes", "object?", null),
  };
}

function source(body) {
  return {
    cid: typed(body, "cid", "string"),
    contributor: typed(body, "contributor", "string"),
    datanet: typed(body, "datanet", "int"),
    weight_ppm: typed(body, "weight_ppm", "int"),
  };
}

function required(body, name) {
  if (!isObject(body) || !(name in body)) throw new Error(`no "${name}"`);
  return body[name];
}

function typed(body, name, kind, fallback) {
  if (isObject(body) && !(name in body) && fallback !== undefined) return fallback;
  const value = required(body, name);
  const ok = {
    string: () => typeof value === "string",
    array: () => Array.isArray(value),
    "object?": () => value === null || isObject(value),
    int: () => value instanceof JsonNumber && /^-?\d+$/.test(value.raw),
    uint: () => value instanceof JsonNumber && /^\d+$/.test(value.raw),
    address: () => typeof value === "string" && /^(0[xX])?[0-9a-fA-F]{40}$/.test(value),
    bytes32: () => typeof value === "string" && /^(0[xX])?[0-9a-fA-F]{64}$/.test(value),
  }[kind]();
  if (!ok) throw new Error(`"${name}" is not ${kind.replace("?", "")}`);
  return kind === "int" || kind === "uint" ? BigInt(value.raw) : value;
}

function integer(value, what) {
  if (!(value instanceof JsonNumber && /^-?\d+$/.test(value.raw))) {
    throw new Error(`${what} is not an integer`);
  }
  return BigInt(value.raw);
}

function cidText(value) {
  if (typeof value !== "string") throw new Error("a CID is not a string");
  return value;
}

function statedHashes(hashes) {
  const stated = {};
  if (!isObject(hashes)) return stated;
  const names = [...SIGNED_HASHES, ["trainingHash", "training_hash"]];
  for (const [field, name] of names) {
    const value = hashes[name];
    if (typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value)) stated[field] = hex(value);
  }
  return stated;
}

// the hashes (receipt.py) ---------------------------------------------------------------------

function signedHashes(r) {
  return {
    requestHash: keccak(utf8.encode(canonicalJson(r.request))),
    responseHash: keccak(utf8.encode(r.response_text)),
    datanetsHash: keccak(
      abi(
        ["uint256[]", "bytes32[]", "uint256[]"],
        [
          r.datanets.map((d) => d.datanet),
          r.datanets.map((d) => hex(d.root)),
          r.datanets.map((d) => d.batches),
        ],
      ),
    ),
    attributionHash: attributionHash(payable(r)),
    transcriptHash: keccak(
      abi(
        ["bytes32[]", "uint256[]", "string", "bytes32"],
        [r.context.map(cidDigest), r.answer_tokens, r.method, trainingHash(r)],
      ),
    ),
    authorizationHash: r.authorization
      ? keccak(
          abi(
            ["uint256", "bytes"],
            [
              r.authorization.nonce,
              parseSignature(r.authorization.signature, "client authorization"),
            ],
          ),
        )
      : ZERO32,
  };
}

function attributionHash(sources) {
  return keccak(
    abi(
      ["bytes32[]", "address[]", "uint256[]", "uint256[]"],
      [
        sources.map((s) => cidDigest(s.cid)),
        sources.map((s) => s.contributor),
        sources.map((s) => s.datanet),
        sources.map((s) => s.weight_ppm),
      ],
    ),
  );
}

function trainingHash(r) {
  if (!(r.training.length || r.training_method || r.training_share_ppm)) return ZERO32;
  return keccak(
    abi(
      ["bytes32", "string", "uint256", "uint256", "bytes32[]", "address"],
      [
        attributionHash(r.training),
        r.training_method,
        r.training_share_ppm,
        r.training_weight_bps,
        r.withheld.map(cidDigest),
        r.withheld_to || ZERO_ADDRESS,
      ],
    ),
  );
}

// pools.merge_pools: both attributions scaled into the one list the attribution hash covers
function payable(r) {
  const context = r.attribution;
  const training = r.training;
  if (!training.length) return context;
  const t = !context.length ? WEIGHT_SCALE : r.training_share_ppm;
  const withheld = new Set(r.withheld);
  const weighted = (s, weight_ppm) => ({ ...s, weight_ppm });
  const scaled = [
    ...context.map((s) => weighted(s, floorDiv(s.weight_ppm * (WEIGHT_SCALE - t), WEIGHT_SCALE))),
    ...training.map((s) => {
      const share = weighted(s, floorDiv(s.weight_ppm * t, WEIGHT_SCALE));
      return withheld.has(s.cid) ? { ...share, contributor: r.withheld_to } : share;
    }),
  ];
  const kept = scaled.filter((s) => s.weight_ppm > 0n);
  if (!kept.length) return [];
  let top = 0; // the highest weight, the first on a tie
  kept.forEach((s, i) => {
    if (s.weight_ppm > kept[top].weight_ppm) top = i;
  });
  const short = WEIGHT_SCALE - kept.reduce((sum, s) => sum + s.weight_ppm, 0n);
  if (short < 0n) return kept;
  kept[top] = weighted(kept[top], kept[top].weight_ppm + short);
  return kept;
}

function floorDiv(a, b) {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

// EIP-712 (eip712.typed_digest) ---------------------------------------------------------------

function digest(r, hashes) {
  const domain = keccak(
    abi(
      ["bytes32", "bytes32", "bytes32", "uint256", "address"],
      [
        keccak(utf8.encode(DOMAIN_TYPE)),
        keccak(utf8.encode(DOMAIN_NAME)),
        keccak(utf8.encode(DOMAIN_VERSION)),
        r.chain_id,
        r.verifying_contract,
      ],
    ),
  );
  const message = {
    ...hashes,
    model: r.model,
    modelDigest: hex(r.model_digest),
    price: r.price,
    client: r.client,
    timestamp: r.timestamp,
  };
  // a string is signed as its hash; every other field here is one word as it stands
  const types = ["bytes32", ...RECEIPT_FIELDS.map(([, t]) => (t === "string" ? "bytes32" : t))];
  const values = [
    keccak(utf8.encode(RECEIPT_TYPE)),
    ...RECEIPT_FIELDS.map(([n, t]) =>
      t === "string" ? keccak(utf8.encode(message[n])) : message[n],
    ),
  ];
  return keccak(concat(Uint8Array.of(0x19, 0x01), domain, keccak(abi(types, values))));
}

// signatures (ecdsa.py) -----------------------------------------------------------------------

function parseSignature(text, what) {
  if (text === "") throw new Refusal("the receipt is not signed");
  if (typeof text !== "string" || !/^0[xX]([0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/.test(text)) {
    throw new Refusal(`the ${what} is malformed: it must be 0x and 130 hex digits (128: EIP-2098)`);
  }
  return hex(text);
}

function recoverSigner(hash, signature) {
  const r = toBig(signature.subarray(0, 32));
  let s, v;
  if (signature.length === 65) {
    s = toBig(signature.subarray(32, 64));
    v = signature[64];
  } else {
    const vs = toBig(signature.subarray(32));
    s = vs & ((1n << 255n) - 1n);
    v = 27 + Number(vs >> 255n);
  }
  if (v !== 27 && v !== 28) throw new Refusal(`the node's signature has v ${v}, not 27 or 28`);
  if (r < 1n || r >= SECP256K1_N) throw new Refusal("the node's signature has r outside 1..n-1");
  if (s < 1n || s > SECP256K1_N / 2n) {
    throw new Refusal("the node's signature has s zero or in the upper half (a malleable form)");
  }
  let key;
  try {
    const compact = concat(word(r), word(s));
    key = secp256k1.Signature.fromBytes(compact, "compact")
      .addRecoveryBit(v - 27)
      .recoverPublicKey(hash);
  } catch {
    throw new Refusal("the node's signature recovers to no key");
  }
  return checksum(toHex(keccak(key.toBytes(false).subarray(1)).subarray(12)));
}

/** EIP-55: the address with its checksum capitals. */
function checksum(address) {
  const lower = address.toLowerCase().replace(/^0x/, "");
  const mask = toHex(keccak(utf8.encode(lower))).slice(2);
  let out = "0x";
  for (let i = 0; i < 40; i++)
    out += parseInt(mask[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

// CIDs (_store/cid.digest_from_cid): a raw sha256 CIDv1 in lower-case base32 ------------------

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const RAW_SHA256_PREFIX = [0x01, 0x55, 0x12, 0x20];

function cidDigest(cid) {
  if (!/^b[a-z2-7]{58}$/.test(cid)) throw new Refusal(`${cid} is not a raw sha256 CIDv1`);
  let bits = 0n;
  for (const char of cid.slice(1)) bits = (bits << 5n) | BigInt(BASE32.indexOf(char));
  if (bits & 3n) throw new Refusal(`${cid} is not a canonical CID`); // 58 * 5 = 36 * 8 + 2
  const raw = word(bits >> 2n, 36);
  if (RAW_SHA256_PREFIX.some((b, i) => raw[i] !== b)) {
    throw new Refusal(`${cid} is not a raw sha256 CIDv1`);
  }
  return raw.subarray(4);
}

// the ABI encoding of exactly the types above (eth_abi.encode) --------------------------------

function abi(types, values) {
  const heads = [];
  const tails = [];
  let offset = BigInt(32 * types.length);
  types.forEach((type, i) => {
    const encoded = abiValue(type, values[i]);
    if (type === "string" || type === "bytes" || type.endsWith("[]")) {
      heads.push(word(offset));
      tails.push(encoded);
      offset += BigInt(encoded.length);
    } else {
      heads.push(encoded);
    }
  });
  return concat(...heads, ...tails);
}

function abiValue(type, value) {
  if (type.endsWith("[]")) {
    const element = type.slice(0, -2);
    return concat(word(BigInt(value.length)), ...value.map((v) => abiValue(element, v)));
  }
  if (type === "string") return abiValue("bytes", utf8.encode(value));
  if (type === "bytes") {
    const padded = new Uint8Array(Math.ceil(value.length / 32) * 32);
    padded.set(value);
    return concat(word(BigInt(value.length)), padded);
  }
  if (type === "uint256") return word(value);
  if (type === "bytes32") return value;
  if (type === "address") {
    if (!/^(0[xX])?[0-9a-fA-F]{40}$/.test(value)) throw new Refusal(`${value} is not an address`);
    return word(toBig(hex(value)));
  }
  throw new Error(`no ABI encoding for ${type}`);
}

/** `n` as `size` big-endian bytes (a uint256 word by default). */
function word(n, size = 32) {
  if (n < 0n || n >= 1n << BigInt(8 * size)) throw new Refusal(`${n} does not fit a uint256`);
  return hex(n.toString(16).padStart(2 * size, "0"));
}

// bytes ---------------------------------------------------------------------------------------

function keccak(bytes) {
  return keccak_256(bytes);
}

function hex(text) {
  const body = text.replace(/^0[xX]/, "");
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(body.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(bytes) {
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toBig(bytes) {
  return bytes.length ? BigInt(toHex(bytes)) : 0n;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// JSON that keeps numbers as written, and receipt.canonical_json ------------------------------

/** A JSON number's text: Python wrote it, and the request hash covers that text. */
class JsonNumber {
  constructor(raw) {
    this.raw = raw;
  }
}

function isObject(value) {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof JsonNumber)
  );
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const SPACE = /[ \t\n\r]*/y;
const WORDS = { true: true, false: false, null: null };

function parseJson(text) {
  let at = 0;
  const match = (pattern) => {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (found) at = pattern.lastIndex;
    return found && found[0];
  };
  const expect = (char) => {
    match(SPACE);
    if (text[at] !== char) throw new Error(`not JSON: "${char}" expected at character ${at}`);
    at++;
  };
  const items = (close, item) => {
    match(SPACE);
    if (text[at] === close) {
      at++;
      return;
    }
    for (;;) {
      item();
      match(SPACE);
      if (text[at] !== ",") break;
      at++;
    }
    expect(close);
  };
  const value = () => {
    match(SPACE);
    const char = text[at];
    if (char === "{") {
      at++;
      const object = Object.create(null);
      items("}", () => {
        match(SPACE);
        const key = match(STRING);
        if (key === null) throw new Error(`not JSON: a key expected at character ${at}`);
        expect(":");
        object[JSON.parse(key)] = value();
      });
      return object;
    }
    if (char === "[") {
      at++;
      const array = [];
      items("]", () => array.push(value()));
      return array;
    }
    if (char === '"') return JSON.parse(match(STRING) ?? '"');
    const number = match(NUMBER);
    if (number !== null) return new JsonNumber(number);
    for (const [word, meaning] of Object.entries(WORDS)) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return meaning;
      }
    }
    throw new Error(`not JSON: unexpected character ${at}`);
  };
  const parsed = value();
  match(SPACE);
  if (at !== text.length) throw new Error(`not JSON: more after character ${at}`);
  return parsed;
}

/** json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False). */
function canonicalJson(value) {
  if (value instanceof JsonNumber) return value.raw;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort(byCodePoint);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value); // a string escapes as Python's does; true, false, null
}

// Python sorts str by code point; JavaScript's default sort by UTF-16 unit differs past U+FFFF
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
