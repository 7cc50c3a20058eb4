// A small helper to build elements: attributes as an object (true: present, false/null:
// absent), children as strings or nodes (null skipped). Text always goes in as text nodes,
// never as HTML, so nothing from the API can inject markup.

// The SVG namespace: a name that identifies the vocabulary, never fetched.
export const SVG_NS = "http://www.w3.org/2000/svg";

export function el(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** `el` for SVG drawings (charts): the same rules, in the SVG namespace. */
export function svg(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Set a node's text only when it differs: no work for the browser when nothing changed. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Show or hide an element, touching the DOM only on a change. */
export function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}
