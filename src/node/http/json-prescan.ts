// A pass over a JSON body before JSON.parse, counting its values (array elements and object
// members: commas, plus one per non-empty container) without building anything. JSON.parse
// holds ~25 bytes per value, so a body of tiny values ("", 0) costs many times its size:
// refusing a body with more values than any request may use bounds that cost by the limits,
// not by the body size. Malformed JSON is left to JSON.parse (which says where).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;

/** Values in `body`, counting stops once past `cap` (the result is then cap + 1). */
export function countJsonValues(body: Uint8Array, cap: number): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? 0;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === COMMA || c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++n > cap) return cap + 1;
    }
  }
  return n;
}
