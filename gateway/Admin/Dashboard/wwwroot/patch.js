// The old side of the config timeline's diffs. A diff in the log is an RFC 6902 JSON Patch from the old to
// the new labels, annotations and spec of one object: it carries only new values. Applying every change of
// an object in seq order keeps its last known state, so a replace or a remove can show what it replaced.

/** The old value of a path the page has no earlier state for (the history it read starts later). */
export const UNKNOWN = Symbol('unknown');

/** The old value of a path that did not exist. */
export const ABSENT = Symbol('absent');

const key = (object) => `${object?.kind ?? '?'} ${object?.namespace ?? ''}/${object?.name ?? '?'}`;

// RFC 6901: "" is the whole document, "/a~1b/0" is ["a/b", "0"].
const tokens = (path) => (path === '' ? [] : path.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~')));

function read(document, path) {
  let node = document;
  for (const token of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, token)) return ABSENT;
    node = node[token];
  }
  return node === undefined ? ABSENT : node;
}

function write(document, op, path, value) {
  if (path.length === 0) return op === 'remove' ? undefined : structuredClone(value);
  const parent = read(document, path.slice(0, -1));
  const last = path[path.length - 1];
  if (parent === ABSENT || parent === null || typeof parent !== 'object') throw new Error(`no parent for ${op}`);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (op === 'add') parent.splice(index, 0, structuredClone(value));
    else if (op === 'remove') parent.splice(index, 1);
    else parent[index] = structuredClone(value);
  } else if (op === 'remove') {
    delete parent[last];
  } else {
    parent[last] = structuredClone(value);
  }
  return document;
}

/** Per object, the state its changes so far leave (only objects whose history the page saw from the start). */
export class ChangeHistory {
  #objects = new Map();

  /** The rows of one change's diff, {op, path, old, value}, old being a value, ABSENT or UNKNOWN; then remembers the new state. */
  apply(change) {
    const name = key(change.object);
    let known = this.#objects.has(name);
    let document = this.#objects.get(name);
    const rows = [];
    for (const op of Array.isArray(change.diff) ? change.diff : []) {
      const path = tokens(String(op.path ?? ''));
      if (!known && path.length === 0 && op.op === 'add') known = true;
      rows.push({ op: String(op.op), path: path.length === 0 ? '(the whole object)' : String(op.path), old: known ? read(document, path) : UNKNOWN, value: op.value, hasValue: 'value' in op });
      if (known) {
        try {
          document = write(document, op.op, path, op.value);
        } catch {
          known = false;
        }
      }
    }
    if (known && document !== undefined) this.#objects.set(name, document);
    else this.#objects.delete(name);
    return rows;
  }
}
