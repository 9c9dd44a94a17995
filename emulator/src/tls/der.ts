// The little of DER (ITU-T X.690) that writing X.509 certificates takes (tls/certificates.ts): encoding
// the universal types a certificate uses, and reading a certificate's top-level structure back (to take
// the issuer's name and key identifier from a CA certificate as it is, byte for byte).

/** A tag and its content, encoded (definite length, shortest form, as DER requires). */
export function tlv(tag: number, content: Uint8Array | readonly Uint8Array[]): Buffer {
  const body = content instanceof Uint8Array ? Buffer.from(content) : Buffer.concat(content as Uint8Array[]);
  const length = body.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, items);
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, items);
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const boolean = (value: boolean): Buffer => Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);
/** A context-specific tag: [n] constructed (explicit), or primitive (implicit, of a primitive type). */
export const context = (n: number, content: Uint8Array | readonly Uint8Array[], constructed = true): Buffer => tlv((constructed ? 0xa0 : 0x80) | n, content);

/** A non-negative INTEGER from its big-endian bytes (a leading zero keeps it positive). */
export function integer(bytes: Uint8Array | number): Buffer {
  let value = typeof bytes === 'number' ? Buffer.from([bytes]) : Buffer.from(bytes);
  let start = 0;
  while (start < value.length - 1 && value[start] === 0 && value[start + 1]! < 0x80) start += 1;
  value = value.subarray(start);
  return tlv(0x02, value[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

/** A BIT STRING of whole bytes (a signature). */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

/** A BIT STRING of named bits (bit 0 is the first byte's high bit), trailing zero bits left out (DER). */
export function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)]! |= 0x80 >> bit % 8;
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [];
    for (let n = arc; ; n = Math.floor(n / 128)) {
      chunk.unshift((n % 128) | (chunk.length > 0 ? 0x80 : 0));
      if (n < 128) break;
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5), to the second. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'latin1')) : tlv(0x18, Buffer.from(digits, 'latin1'));
}

/** One element read back: its tag, where it starts (header included), where its content starts and ends. */
export interface Element {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

export function read(buffer: Uint8Array, offset = 0): Element {
  const tag = buffer[offset]!;
  let length = buffer[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > buffer.length) throw new Error('DER: an element runs past the end of its data');
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element. */
export function children(buffer: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const element = read(buffer, at);
    out.push(element);
    at = element.end;
  }
  return out;
}

export const bytesOf = (buffer: Uint8Array, element: Element): Buffer => Buffer.from(buffer.subarray(element.start, element.end));
export const contentOf = (buffer: Uint8Array, element: Element): Buffer => Buffer.from(buffer.subarray(element.contentStart, element.end));
