// DOM helpers. Every value that comes from the gateway (the log, an Ingress, a request) reaches the page
// through textContent, createTextNode or a plain property (title, value): never as markup.

const SVG = 'http://www.w3.org/2000/svg';

/** An element: el('td', {class: 'num', title: '…'}, 'text', child…). Attributes are set one by one, never parsed. */
export function el(tag, attributes = {}, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** An SVG element, the same way. */
export function svg(tag, attributes = {}, ...children) {
  return build(document.createElementNS(SVG, tag), attributes, children);
}

function build(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** Appends strings as text nodes and nodes as they are; skips null and false. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces the children of a node. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** A UTC time as 2026-12-02 14:31:22Z (seconds), or '—'. */
export function utc(value) {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The time of day of a UTC time, with milliseconds: 14:31:22.123Z. */
export function clock(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().slice(11);
}

/** A duration in seconds as 42 s, 3 min 05 s, 2 h 10 min. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Microseconds as 0.67 ms, 12 ms, 1.2 s. */
export function micros(us) {
  if (us === null || us === undefined) return '—';
  if (us < 10_000) return `${(us / 1000).toFixed(2)} ms`;
  if (us < 1_000_000) return `${Math.round(us / 1000)} ms`;
  return `${(us / 1_000_000).toFixed(1)} s`;
}

/** A JSON value on one line, for a diff cell (strings as JSON strings, so "" and " " stay visible). */
export function compact(value) {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

/** A status word with an icon, so nothing depends on colour alone. */
export function badge(kind, word) {
  const icons = { ok: '✔', bad: '✘', warn: '⚠', info: 'ℹ', wait: '…' };
  return el('span', { class: `badge ${kind}` }, el('span', { class: 'icon', 'aria-hidden': 'true', text: icons[kind] ?? '' }), ' ', word);
}
