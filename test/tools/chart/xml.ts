/**
 * A tiny XML parser for the chart tests: enough of XML 1.0 to reject what is not well-formed
 * (unbalanced or mismatched tags, unquoted or duplicate attributes, a raw '<' or a bare '&' in text or
 * attributes, more than one root) and to give back an element tree to query. No DTDs, no namespaces.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (entities decoded), concatenated. */
  text: string;
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const SPACE = /\s*/y;
const EQ = /\s*=\s*/y;
const ENTITY = /^&(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/;

function decode(raw: string, where: number): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '<') throw new Error(`raw '<' at ${where + i}`);
    if (c !== '&') {
      out += c;
      continue;
    }
    const m = ENTITY.exec(raw.slice(i));
    if (m === null) throw new Error(`bare '&' at ${where + i}`);
    const e = m[0].slice(1, -1);
    out +=
      e === 'lt'
        ? '<'
        : e === 'gt'
          ? '>'
          : e === 'amp'
            ? '&'
            : e === 'quot'
              ? '"'
              : e === 'apos'
                ? "'"
                : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    i += m[0].length - 1;
  }
  return out;
}

/** Parses a document; throws an Error naming the first well-formedness problem. */
export function parseXml(source: string): XmlElement {
  let pos = 0;
  /** The sticky `re` matched at `at` (no slicing: the parser stays linear on large documents). */
  const matchAt = (re: RegExp, at: number): string | undefined => {
    re.lastIndex = at;
    return re.exec(source)?.[0];
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const skipMisc = () => {
    for (;;) {
      const ws = matchAt(SPACE, pos)!.length;
      pos += ws;
      if (source.startsWith('<?', pos)) {
        const end = source.indexOf('?>', pos);
        if (end < 0) throw new Error('unterminated processing instruction');
        pos = end + 2;
      } else if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos);
        if (end < 0) throw new Error('unterminated comment');
        pos = end + 3;
      } else return;
    }
  };
  skipMisc();
  while (pos < source.length) {
    if (stack.length === 0 && root !== undefined) {
      skipMisc();
      if (pos < source.length) throw new Error(`content after the root element at ${pos}`);
      break;
    }
    if (source.startsWith('<!--', pos)) {
      const end = source.indexOf('-->', pos);
      if (end < 0) throw new Error('unterminated comment');
      pos = end + 3;
    } else if (source.startsWith('<![CDATA[', pos)) {
      const end = source.indexOf(']]>', pos);
      if (end < 0 || stack.length === 0) throw new Error('bad CDATA');
      stack[stack.length - 1]!.text += source.slice(pos + 9, end);
      pos = end + 3;
    } else if (source.startsWith('</', pos)) {
      const m = matchAt(NAME, pos + 2);
      if (m === undefined) throw new Error(`bad end tag at ${pos}`);
      const open = stack.pop();
      if (open === undefined || open.name !== m) throw new Error(`end tag </${m}> does not match <${open?.name ?? ''}> at ${pos}`);
      pos += 2 + m.length;
      pos += matchAt(SPACE, pos)!.length;
      if (source[pos] !== '>') throw new Error(`bad end tag at ${pos}`);
      pos++;
    } else if (source[pos] === '<') {
      const m = matchAt(NAME, pos + 1);
      if (m === undefined) throw new Error(`bad start tag at ${pos}`);
      if (stack.length === 0 && root !== undefined) throw new Error('more than one root element');
      const element: XmlElement = { name: m, attrs: {}, children: [], text: '' };
      pos += 1 + m.length;
      for (;;) {
        const ws = matchAt(SPACE, pos)!.length;
        pos += ws;
        if (source.startsWith('/>', pos)) {
          pos += 2;
          attach(element, true);
          break;
        }
        if (source[pos] === '>') {
          pos++;
          attach(element, false);
          break;
        }
        if (ws === 0) throw new Error(`attribute without preceding space at ${pos}`);
        const a = matchAt(NAME, pos);
        if (a === undefined) throw new Error(`bad attribute at ${pos} in <${element.name}>`);
        pos += a.length;
        const eq = matchAt(EQ, pos);
        if (eq === undefined) throw new Error(`attribute ${a} without value at ${pos}`);
        pos += eq.length;
        const quote = source[pos];
        if (quote !== '"' && quote !== "'") throw new Error(`unquoted attribute ${a} at ${pos}`);
        const end = source.indexOf(quote, pos + 1);
        if (end < 0) throw new Error(`unterminated attribute ${a}`);
        if (a in element.attrs) throw new Error(`duplicate attribute ${a} in <${element.name}>`);
        element.attrs[a] = decode(source.slice(pos + 1, end), pos + 1);
        pos = end + 1;
      }
    } else {
      const next = source.indexOf('<', pos);
      const end = next < 0 ? source.length : next;
      const raw = source.slice(pos, end);
      if (stack.length === 0) {
        if (raw.trim() !== '') throw new Error(`text outside the root element at ${pos}`);
      } else stack[stack.length - 1]!.text += decode(raw, pos);
      pos = end;
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root === undefined) throw new Error('no root element');
  return root;

  function attach(element: XmlElement, selfClosing: boolean): void {
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.children.push(element);
    else root = element;
    if (!selfClosing) stack.push(element);
  }
}

/** Every element below (and including) `root`, depth first. */
export function descendants(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap(descendants)];
}

/** Elements matching a predicate. */
export function findAll(root: XmlElement, predicate: (e: XmlElement) => boolean): XmlElement[] {
  return descendants(root).filter(predicate);
}

/** All text below an element. */
export function deepText(root: XmlElement): string {
  return root.text + root.children.map(deepText).join('');
}
