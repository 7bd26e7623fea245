/**
 * Limits on a YAML text's shape, checked in one pass before it is parsed. The yaml parser's time
 * grows faster than linearly in the number of documents and in the depth of flow collections
 * (`[[[[…` or a `[` left open on every line): a 1.4 MiB file of either kept it busy for tens of
 * seconds. No KafkaSource comes near these limits.
 */
export const MAX_YAML_DOCUMENTS = 100;
export const MAX_FLOW_DEPTH = 64;

/** Why the text is refused before parsing, or undefined. */
export function yamlShapeProblem(text: string): string | undefined {
  let documents = 1;
  let depth = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (lineStart && c === '-' && text.startsWith('---', i) && /[\s]|^$/.test(text[i + 3] ?? '')) {
      if (++documents > MAX_YAML_DOCUMENTS) return `holds more than ${MAX_YAML_DOCUMENTS} YAML documents`;
    }
    lineStart = c === '\n';
    if (c === '"' || c === "'") i = endOfQuoted(text, i);
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) i = endOfLine(text, i) - 1;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return `nests flow collections ([ or {) more than ${MAX_FLOW_DEPTH} deep`;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** The index of the quote closing the one at `start` (`\"` escapes in double quotes, `''` in single). */
function endOfQuoted(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return text.length;
}

function endOfLine(text: string, start: number): number {
  const end = text.indexOf('\n', start);
  return end === -1 ? text.length : end;
}
