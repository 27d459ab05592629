// The independent side of tests/store/test_unixfs_js.py: Helia's UnixFS importer and @ipld/car.
//
//   node unixfs.mjs cid FILE...        the root CID of each file, one a line
//   node unixfs.mjs car FILE OUT.car   import FILE and write its DAG as a CARv1 (depth-first)
//   node unixfs.mjs verify IN.car      read a CAR, check every block against its CID, print JSON
//
// The importer's options are pinned to what `ipfs add --cid-version 1 --raw-leaves` does with
// kubo's defaults, whatever this version's defaults happen to be.
import { readFile, writeFile } from 'node:fs/promises'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CarWriter } from '@ipld/car/writer'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

const KUBO_DEFAULTS = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  wrapWithDirectory: false
}

async function importFile (path, blockstore) {
  const content = await readFile(path)
  let root
  for await (const entry of importer([{ content }], blockstore, KUBO_DEFAULTS)) {
    root = entry.cid
  }
  return root
}

async function getBytes (blockstore, cid) {
  const got = blockstore.get(cid)
  if (got instanceof Uint8Array) return got
  if (typeof got?.then === 'function') return await got
  const parts = []
  for await (const part of got) parts.push(part)
  return Buffer.concat(parts)
}

async function * depthFirst (blockstore, cid) {
  const bytes = await getBytes(blockstore, cid)
  yield { cid, bytes }
  if (cid.code === dagPb.code) {
    for (const link of dagPb.decode(bytes).Links) yield * depthFirst(blockstore, link.Hash)
  }
}

async function writeCar (path, out) {
  const blockstore = new MemoryBlockstore()
  const root = await importFile(path, blockstore)
  const { writer, out: stream } = CarWriter.create([root])
  const chunks = []
  const collected = (async () => { for await (const c of stream) chunks.push(c) })()
  for await (const block of depthFirst(blockstore, root)) await writer.put(block)
  await writer.close()
  await collected
  await writeFile(out, Buffer.concat(chunks))
  console.log(root.toString())
}

async function verifyCar (path) {
  const blocks = await CarBlockIterator.fromBytes(await readFile(path))
  const roots = (await blocks.getRoots()).map(String)
  const cids = []
  for await (const { cid, bytes } of blocks) {
    const digest = (await sha256.digest(bytes)).digest
    if (cid.multihash.code !== sha256.code || Buffer.compare(digest, cid.multihash.digest) !== 0) {
      throw new Error(`block ${cid} does not hash to its CID`)
    }
    if (cid.code === dagPb.code) dagPb.decode(bytes) // throws on a malformed node
    else if (cid.code !== raw.code) throw new Error(`block ${cid} has an unexpected codec`)
    cids.push(cid.toString())
  }
  console.log(JSON.stringify({ roots, cids }))
}

const [command, ...args] = process.argv.slice(2)
if (command === 'cid') {
  for (const path of args) console.log((await importFile(path, new MemoryBlockstore())).toString())
} else if (command === 'car') {
  await writeCar(args[0], args[1])
} else if (command === 'verify') {
  await verifyCar(args[0])
} else {
  console.error('usage: node unixfs.mjs cid FILE... | car FILE OUT.car | verify IN.car')
  process.exit(2)
}
