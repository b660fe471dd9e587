// RFC 6962 / RFC 9162 Merkle proofs, checked in the browser with Web Crypto's SHA-256:
// leaf = SHA-256(0x00 || entry line), node = SHA-256(0x01 || left || right) (docs/audit-log.md).

/** Web Crypto exists only on secure pages: HTTPS, or http://127.0.0.1 / localhost. */
export const available = () => Boolean(globalThis.crypto?.subtle);

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

/** The leaf hash of an entry line (a string: hashed as its UTF-8 bytes). */
export const leafHash = (line) => sha256(LEAF, new TextEncoder().encode(line));

const node = (left, right) => sha256(NODE, left, right);

export function fromHex(text) {
  if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/i.test(text)) throw new Error(`not hex: ${String(text).slice(0, 80)}`);
  return Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Tree sizes are below 2^53: halving with arithmetic, not 32-bit shifts.
const odd = (n) => n % 2 === 1;
const half = (n) => Math.floor(n / 2);

const powerOfTwo = (n) => {
  while (n > 1 && !odd(n)) n = half(n);
  return n === 1;
};

/**
 * Walks an audit path up the tree (the loop RFC 9162 §2.1.3.2 and §2.1.4.2 share): fn is the node's index
 * at its level, sn the last index at that level. Each hash is a left sibling (left(c)) or a right one
 * (right(c)); throws when the path is longer or shorter than the tree is deep.
 */
async function walk(fn, sn, path, left, right) {
  for (const c of path) {
    if (sn === 0) throw new Error('the proof is longer than the tree is deep');
    if (odd(fn) || fn === sn) {
      await left(c);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      await right(c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new Error('the proof is shorter than the tree is deep');
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or throws when the path cannot be one for
 * this index and size. The caller compares it with a root it trusts.
 */
export async function inclusionRoot(leafIndex, treeSize, leaf, path) {
  if (!(Number.isSafeInteger(leafIndex) && Number.isSafeInteger(treeSize) && leafIndex >= 0 && leafIndex < treeSize)) {
    throw new Error(`leaf ${leafIndex} is not in a tree of size ${treeSize}`);
  }
  let r = leaf;
  await walk(leafIndex, treeSize - 1, path, async (c) => { r = await node(c, r); }, async (c) => { r = await node(r, c); });
  return r;
}

/**
 * Whether the tree of size1 with root1 is a prefix of the tree of size2 with root2, by the consistency
 * proof (RFC 9162 §2.1.4.2). Returns {ok, reason}.
 */
export async function consistent(size1, root1, size2, root2, proof) {
  if (!(size1 > 0 && size1 <= size2)) return { ok: false, reason: `a consistency proof needs 0 < ${size1} <= ${size2}` };
  if (size1 === size2) {
    return proof.length === 0 && equal(root1, root2)
      ? { ok: true, reason: 'same size, same root' }
      : { ok: false, reason: 'same size but a different root (a fork)' };
  }
  if (proof.length === 0) return { ok: false, reason: 'the proof is empty' };
  const path = powerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  try {
    await walk(fn, sn, path.slice(1), async (c) => {
      fr = await node(c, fr);
      sr = await node(c, sr);
    }, async (c) => { sr = await node(sr, c); });
  } catch (error) {
    return { ok: false, reason: error.message };
  }
  if (!equal(fr, root1)) return { ok: false, reason: `the proof does not lead to the root of size ${size1} this page saw` };
  if (!equal(sr, root2)) return { ok: false, reason: `the proof does not lead to the root of size ${size2} this page saw` };
  return { ok: true, reason: `the tree of size ${size1} is a prefix of the tree of size ${size2}` };
}

/** Size and root of a C2SP checkpoint note (origin, size, base64 root, blank line, signatures). */
export function parseNote(note) {
  const lines = String(note).split('\n');
  const size = Number(lines[1]);
  if (lines.length < 4 || !Number.isSafeInteger(size)) throw new Error('not a checkpoint note');
  return { origin: lines[0], size, root: fromBase64(lines[2]) };
}
