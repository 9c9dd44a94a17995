// TEST DOUBLE, not a database: a minimal TDS 7.4 responder that speaks just enough of SQL Server's wire
// protocol (MS-TDS) for the `mssql`/tedious driver to connect and run `SELECT 1`: PRELOGIN (no
// encryption), LOGIN7 (checks user and password, answers LOGINACK or error 18456 "Login failed"),
// SQL batches (a one-row result for SELECT 1; `ALTER LOGIN [user] WITH PASSWORD = '...' OLD_PASSWORD = '...'`,
// which switches the password it accepts as SQL Server does: the login changing its own password must
// give the old one, and sessions already open stay open; DONE for everything else) and ATTENTION. Tests
// stop and start it to play a database that goes away and comes back, and change its password to play a
// rotated credential. CI has no SQL Server; with Docker the same tests run against the real one.
import type { Socket } from 'node:net';
import { LoopbackServer } from './loopback-server.js';

const PACKET = { SQL_BATCH: 0x01, RPC: 0x03, TABULAR_RESULT: 0x04, ATTENTION: 0x06, LOGIN7: 0x10, PRELOGIN: 0x12 } as const;
const TOKEN = { COLMETADATA: 0x81, ERROR: 0xaa, LOGINACK: 0xad, ROW: 0xd1, ENVCHANGE: 0xe3, DONE: 0xfd } as const;
const DONE_STATUS = { FINAL: 0x00, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 } as const;
const TDS_7_4 = 0x74000004;
const ENCRYPT_NOT_SUP = 0x02;

export interface FakeTdsServerOptions {
  user: string;
  password: string;
  /** Port to listen on; 0 picks one (kept across stop/start). */
  port?: number;
}

export class FakeTdsServer extends LoopbackServer {
  private password: string;
  /** Successful logins since creation. */
  logins = 0;
  /** Failed logins since creation. */
  failedLogins = 0;
  /** SELECT 1 batches answered. */
  queries = 0;
  /** Passwords changed with ALTER LOGIN. */
  passwordChanges = 0;

  constructor(private readonly options: FakeTdsServerOptions) {
    super(options.port ?? 0);
    this.password = options.password;
  }

  /** A connection string for the current password (no encryption: the double does not do TLS). */
  connectionString(password = this.password): string {
    return `Server=127.0.0.1,${this.port};Database=master;User Id=${this.options.user};Password=${password};Encrypt=false;TrustServerCertificate=true;Connect Timeout=5`;
  }

  /** Changes the password and drops open connections (as an admin who rotates it and kills sessions). */
  rotatePassword(password: string): void {
    this.password = password;
    this.dropConnections();
  }

  /** The password logins must give now. */
  get currentPassword(): string {
    return this.password;
  }

  /** Ends every open session (as KILL would), without changing anything else. */
  killSessions(): void {
    this.dropConnections();
  }

  protected accept(socket: Socket): void {
    this.track(socket);
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let message: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 8) {
        const length = buffered.readUInt16BE(2);
        if (length < 8) return socket.destroy();
        if (buffered.length < length) break;
        const type = buffered[0]!;
        const endOfMessage = (buffered[1]! & 0x01) === 0x01;
        message.push(buffered.subarray(8, length));
        buffered = buffered.subarray(length);
        if (endOfMessage) {
          const payload = Buffer.concat(message);
          message = [];
          this.handle(socket, type, payload);
        }
      }
    });
  }

  private handle(socket: Socket, type: number, payload: Buffer): void {
    switch (type) {
      case PACKET.PRELOGIN:
        return send(socket, preloginResponse());
      case PACKET.LOGIN7:
        return this.login(socket, payload);
      case PACKET.SQL_BATCH:
        return this.batch(socket, payload);
      case PACKET.ATTENTION:
        return send(socket, done(DONE_STATUS.ATTN, 0, 0));
      default:
        // RPC and the rest are beyond this double: answer a clear SQL error.
        return send(socket, Buffer.concat([errorToken(40000, 16, `The fake TDS server does not handle packet type 0x${type.toString(16)}.`), done(DONE_STATUS.ERROR, 0, 0)]));
    }
  }

  private login(socket: Socket, payload: Buffer): void {
    const user = ucs2At(payload, 40);
    const password = decodePassword(payload, 44);
    if (user !== this.options.user || password !== this.password) {
      this.failedLogins += 1;
      send(socket, Buffer.concat([errorToken(18456, 14, `Login failed for user '${user}'.`), done(DONE_STATUS.ERROR, 0, 0)]));
      return;
    }
    this.logins += 1;
    send(socket, Buffer.concat([envChangeDatabase('master'), loginAck(), envChangePacketSize(4096), done(DONE_STATUS.FINAL, 0, 0)]));
  }

  private batch(socket: Socket, payload: Buffer): void {
    const headersLength = payload.length >= 4 ? payload.readUInt32LE(0) : 0;
    const text = payload.subarray(headersLength).toString('utf16le').trim();
    const alter = ALTER_LOGIN.exec(text);
    if (alter) {
      return this.alterLogin(socket, {
        login: alter[1]?.replaceAll(']]', ']') ?? alter[2]!,
        password: unquote(alter[3]!),
        ...(alter[4] !== undefined && { oldPassword: unquote(alter[4]) }),
      });
    }
    if (/^select\s+1(\s+as\s+\[?(\w+)\]?)?\s*;?$/i.test(text)) {
      this.queries += 1;
      const column = /\s+as\s+\[?(\w+)\]?/i.exec(text)?.[1] ?? '';
      send(socket, Buffer.concat([colMetadataInt(column), rowInt(1), done(DONE_STATUS.COUNT, 0xc1, 1)]));
      return;
    }
    // Session settings (tedious's initial `set ...` batch) and anything else: done, no rows.
    send(socket, done(DONE_STATUS.FINAL, 0, 0));
  }

  /**
   * The login changing its own password: SQL Server wants the old one (without ALTER ANY LOGIN, which this
   * login lacks) and answers 15151 otherwise. Open sessions stay open, as they do on SQL Server.
   */
  private alterLogin(socket: Socket, change: { login: string; password: string; oldPassword?: string }): void {
    if (change.login !== this.options.user || change.oldPassword !== this.password) {
      send(socket, Buffer.concat([errorToken(15151, 16, `Cannot alter the login '${change.login}', because it does not exist or you do not have permission.`), done(DONE_STATUS.ERROR, 0, 0)]));
      return;
    }
    this.password = change.password;
    this.passwordChanges += 1;
    send(socket, done(DONE_STATUS.FINAL, 0, 0));
  }
}

/**
 * ALTER LOGIN [name] WITH PASSWORD = N'new' [OLD_PASSWORD = N'old']: login names bracketed or not,
 * literals with or without N and with '' for a quote.
 */
const ALTER_LOGIN = /^alter\s+login\s+(?:\[((?:[^\]]|\]\])+)\]|(\w+))\s+with\s+password\s*=\s*N?'((?:[^']|'')*)'(?:\s*,?\s*old_password\s*=\s*N?'((?:[^']|'')*)')?\s*;?$/i;

const unquote = (literal: string) => literal.replaceAll("''", "'");

/** Wraps a message in TDS packets (type TABULAR_RESULT), splitting at 4096 bytes. */
function send(socket: Socket, data: Buffer): void {
  const max = 4096 - 8;
  for (let offset = 0, id = 1; offset < data.length || offset === 0; offset += max, id += 1) {
    const body = data.subarray(offset, offset + max);
    const last = offset + max >= data.length;
    const header = Buffer.alloc(8);
    header[0] = PACKET.TABULAR_RESULT;
    header[1] = last ? 0x01 : 0x00;
    header.writeUInt16BE(8 + body.length, 2);
    header.writeUInt16BE(0, 4);
    header[6] = id % 256;
    socket.write(Buffer.concat([header, body]));
    if (last) break;
  }
}

function preloginResponse(): Buffer {
  // Options: VERSION (6 bytes), ENCRYPTION (1 byte), terminator; offsets count from the payload start.
  const optionsLength = 5 * 2 + 1;
  const out = Buffer.alloc(optionsLength + 6 + 1);
  out.writeUInt8(0x00, 0);
  out.writeUInt16BE(optionsLength, 1);
  out.writeUInt16BE(6, 3);
  out.writeUInt8(0x01, 5);
  out.writeUInt16BE(optionsLength + 6, 6);
  out.writeUInt16BE(1, 8);
  out.writeUInt8(0xff, 10);
  out.writeUInt32BE(0x10000fa0, optionsLength); // 16.0.4000
  out.writeUInt16BE(0, optionsLength + 4);
  out.writeUInt8(ENCRYPT_NOT_SUP, optionsLength + 6);
  return out;
}

function bVarchar(text: string): Buffer {
  const data = Buffer.from(text, 'utf16le');
  return Buffer.concat([Buffer.from([text.length]), data]);
}

function usVarchar(text: string): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16LE(text.length);
  return Buffer.concat([length, Buffer.from(text, 'utf16le')]);
}

function withLength(token: number, body: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = token;
  head.writeUInt16LE(body.length, 1);
  return Buffer.concat([head, body]);
}

function loginAck(): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(TDS_7_4);
  return withLength(TOKEN.LOGINACK, Buffer.concat([Buffer.from([0x01]), version, bVarchar('Fake TDS test double'), Buffer.from([16, 0, 0x0f, 0xa0])]));
}

function envChangeDatabase(name: string): Buffer {
  return withLength(TOKEN.ENVCHANGE, Buffer.concat([Buffer.from([0x01]), bVarchar(name), bVarchar('master')]));
}

function envChangePacketSize(size: number): Buffer {
  return withLength(TOKEN.ENVCHANGE, Buffer.concat([Buffer.from([0x04]), bVarchar(String(size)), bVarchar(String(size))]));
}

function errorToken(number: number, severity: number, message: string): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt32LE(number, 0);
  head[4] = 1; // state
  head[5] = severity;
  const line = Buffer.alloc(4);
  line.writeInt32LE(1);
  return withLength(TOKEN.ERROR, Buffer.concat([head, usVarchar(message), bVarchar('fake-tds'), bVarchar(''), line]));
}

function done(status: number, command: number, rows: number): Buffer {
  const out = Buffer.alloc(13);
  out[0] = TOKEN.DONE;
  out.writeUInt16LE(status, 1);
  out.writeUInt16LE(command, 3);
  out.writeBigUInt64LE(BigInt(rows), 5);
  return out;
}

function colMetadataInt(name: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = TOKEN.COLMETADATA;
  head.writeUInt16LE(1, 1); // one column
  const column = Buffer.alloc(4 + 2 + 2);
  column.writeUInt32LE(0, 0); // user type
  column.writeUInt16LE(0x0001, 4); // flags: nullable
  column[6] = 0x26; // INTN
  column[7] = 4; // length
  return Buffer.concat([head, column, bVarchar(name)]);
}

function rowInt(value: number): Buffer {
  const out = Buffer.alloc(6);
  out[0] = TOKEN.ROW;
  out[1] = 4;
  out.writeInt32LE(value, 2);
  return out;
}

/** A LOGIN7 string field: offset and length (in characters) at `at`, relative to the payload. */
function ucs2At(payload: Buffer, at: number): string {
  const offset = payload.readUInt16LE(at);
  const chars = payload.readUInt16LE(at + 2);
  return payload.subarray(offset, offset + chars * 2).toString('utf16le');
}

/** LOGIN7 passwords are obfuscated: each byte XOR 0xA5, then its nibbles swapped (MS-TDS 2.2.6.4). */
function decodePassword(payload: Buffer, at: number): string {
  const offset = payload.readUInt16LE(at);
  const chars = payload.readUInt16LE(at + 2);
  const bytes = Buffer.from(payload.subarray(offset, offset + chars * 2));
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]! ^ 0xa5;
    bytes[i] = ((b << 4) & 0xf0) | (b >> 4);
  }
  return bytes.toString('utf16le');
}
