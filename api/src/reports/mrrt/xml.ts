/**
 * A strict reader for the small XML of MRRT's `<script type="text/xml">` (template attributes and
 * coded content): elements, attributes in double quotes, text, comments and an XML declaration.
 * No DTDs, entities beyond the five predefined ones, CDATA or processing instructions: anything
 * else is refused rather than guessed at.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const TOKEN =
  /<!--[\s\S]*?-->|<\?xml[^?]*\?>|<\/([A-Za-z_][\w.-]*)\s*>|<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*"[^"<]*")*)\s*(\/?)>|([^<]+)/y;
const ATTR = /([A-Za-z_][\w.:-]*)\s*=\s*"([^"<]*)"/g;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&([a-z]+);/g, (whole, name: string) => {
    const value = ENTITIES[name];
    if (value === undefined) throw new Error(`unknown entity ${whole}`);
    return value;
  });
}

/** The one root element of `source`; throws with the reason on anything that is not this XML. */
export function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(source);
    if (!match) throw new Error(`unreadable XML at character ${at}`);
    const [whole, closing, opening, attrText, selfClosing, text] = match;
    const top = stack[stack.length - 1]!;
    if (text !== undefined) {
      if (top === root && text.trim() !== '') throw new Error('text outside the root element');
      top.text += decode(text);
    } else if (closing !== undefined) {
      if (top.name !== closing) throw new Error(`</${closing}> closes <${top.name}>`);
      stack.pop();
    } else if (opening !== undefined) {
      const attrs: Record<string, string> = {};
      for (const [, name, value] of (attrText ?? '').matchAll(ATTR)) {
        if (name! in attrs) throw new Error(`attribute ${name} twice on <${opening}>`);
        attrs[name!] = decode(value!);
      }
      const element: XmlElement = { name: opening, attrs, children: [], text: '' };
      if (top === root && root.children.length > 0) throw new Error('more than one root element');
      top.children.push(element);
      if (!selfClosing) stack.push(element);
    } else if (!whole.startsWith('<!--') && !whole.startsWith('<?xml')) throw new Error(`unreadable XML at character ${at}`);
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> is not closed`);
  const [only] = root.children;
  if (!only) throw new Error('no XML element');
  return only;
}

export const childrenNamed = (element: XmlElement, name: string) => element.children.filter((c) => c.name === name);
