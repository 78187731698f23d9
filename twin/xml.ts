// A tiny XML writer for Query-protocol responses: elements from plain objects, arrays as `<member>` lists.

/** An XML value: text, a nested element map, a `<member>` list, or absent (omitted). */
export type XmlValue = string | number | boolean | Date | XmlObject | XmlValue[] | undefined;
export interface XmlObject {
  [element: string]: XmlValue;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderValue(value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => `<member>${renderValue(item)}</member>`).join('');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return renderObject(value);
  return escapeXml(String(value));
}

/** Renders the elements of an object in insertion order, skipping undefined ones. */
export function renderObject(object: XmlObject): string {
  return Object.entries(object)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<${name}>${renderValue(value)}</${name}>`)
    .join('');
}
