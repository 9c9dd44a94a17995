// Access tokens: JWTs the emulator signs (RS256, key kept in the data directory) and verifies on every
// data-plane request, the way Key Vault does (spec §8.3, docs rest-errors): signature, issuer, audience
// and lifetime on the emulator clock, with the real AKV1xxxx 401 messages. Verification results are
// cached per token so the hot path pays for a signature check once per token, not once per request.
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type KeyObject } from 'jose';
import { randomUUID } from 'node:crypto';
import { KvError } from '../errors.js';
import type { Clock } from '../vault/ports.js';

/** Key Vault's first-party application id: tokens may name it as their audience. */
export const KEY_VAULT_APP_ID = 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093';
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey | KeyObject;
  publicKey: CryptoKey | KeyObject;
  publicJwk: JWK;
}

export interface TokenClaims extends JWTPayload {
  tid: string;
  oid: string;
  appid?: string;
  azp?: string;
  idtyp?: string;
  xms_mirid?: string;
}

export interface IssueRequest {
  audience: string;
  /** Overrides for minting deliberately bad tokens through the admin API (tests of the vault's checks). */
  issuer?: string;
  tenantId?: string;
  /** Unix seconds; default: now on the emulator clock. */
  issuedAt?: number;
  oid: string;
  appid: string;
  /** 'app' for service principals and managed identities, 'user' for users. */
  idtyp?: 'app' | 'user';
  /** Token version: v1 tokens carry `iss=https://sts.windows.net/{tid}/`, v2 the login.microsoftonline.com form. */
  version?: '1.0' | '2.0';
  extraClaims?: Record<string, unknown>;
  lifetimeSeconds?: number;
}

export interface IssuedToken {
  token: string;
  /** Unix seconds. */
  expiresOn: number;
  expiresIn: number;
}

export interface TokenServiceOptions {
  clock: Clock;
  tenantId: string;
  /**
   * The signing key, or its promise while it is being generated (data-dir.ts: a new data directory's
   * key is made in the background, after the server listens); everything that signs or verifies waits for it.
   */
  key: SigningKey | Promise<SigningKey>;
  /** Resources (besides https://vault.azure.net) the emulator advertises in its challenges. */
  extraAudiences?: string[];
  defaultLifetimeSeconds?: number;
}

const CACHE_LIMIT = 10_000;

/** Azure resources other than Key Vault that the tenant issues tokens for, with their token audience. */
const OTHER_RESOURCES: Record<string, string> = {
  'https://management.azure.com': 'https://management.azure.com/',
  'https://management.core.windows.net': 'https://management.core.windows.net/',
  'https://graph.microsoft.com': 'https://graph.microsoft.com',
  // Azure AD Graph: the Azure CLI asks a token for it to learn its tenant (az keyvault create).
  'https://graph.windows.net': 'https://graph.windows.net/',
  'https://storage.azure.com': 'https://storage.azure.com',
  'https://database.windows.net': 'https://database.windows.net/',
  'https://ossrdbms-aad.database.windows.net': 'https://ossrdbms-aad.database.windows.net',
  'https://servicebus.azure.net': 'https://servicebus.azure.net',
  'https://eventhubs.azure.net': 'https://eventhubs.azure.net',
  'https://cognitiveservices.azure.com': 'https://cognitiveservices.azure.com',
};
const CLOCK_SKEW_SECONDS = 300;

/** Observed from the real service for an expired token (Azure SDK issue reports). */
const TOKEN_EXPIRED = "[TokenExpired] Error validating token: 'S2S12086'.";

export function unauthorized(message: string, challenge?: string): KvError {
  return new KvError('Unauthorized', message, challenge ? { headers: { 'www-authenticate': challenge } } : {});
}

/** Why `TokenService.inspect` refused a token. */
export type TokenProblem =
  | { kind: 'invalid' }
  | { kind: 'issuer'; issuer: string }
  | { kind: 'expired'; expiresOn: number; now: number }
  | { kind: 'notYetValid' };

/**
 * Whether `resource` (scheme://host[:port], no path) names the emulator that was reached at `origin`:
 * the same origin, or a loopback name for the same port (a client may ask its authority at localhost for
 * a management endpoint written as 127.0.0.1).
 */
export function isEmulatorOrigin(resource: string, origin: string): boolean {
  let wanted: URL;
  let reached: URL;
  try {
    wanted = new URL(resource);
    reached = new URL(origin);
  } catch {
    return false;
  }
  if (wanted.protocol !== 'https:' || wanted.pathname !== '/' || wanted.search !== '' || wanted.username !== '') return false;
  if (wanted.host === reached.host) return true;
  const loopback = (host: string) => host === 'localhost' || host.endsWith('.localhost') || host.startsWith('127.') || host === '[::1]';
  return wanted.port === reached.port && loopback(wanted.hostname) && loopback(reached.hostname);
}

export class TokenService {
  private readonly cache = new Map<string, TokenClaims>();
  /** Tokens `inspect` has verified (signature and claims), for the management plane. */
  private readonly inspected = new Map<string, TokenClaims>();
  private readonly audiences: Set<string>;

  constructor(private readonly options: TokenServiceOptions) {
    const resources = [KEY_VAULT_RESOURCE, ...(options.extraAudiences ?? [])];
    this.audiences = new Set([KEY_VAULT_APP_ID, ...resources.flatMap((r) => [r, `${r}/`])]);
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  private async key(): Promise<SigningKey> {
    return this.options.key;
  }

  async publicJwk(): Promise<JWK> {
    return (await this.key()).publicJwk;
  }

  issuers(tenantId = this.options.tenantId): string[] {
    return [`https://sts.windows.net/${tenantId}/`, `https://login.microsoftonline.com/${tenantId}/v2.0`];
  }

  acceptsAudience(audience: string): boolean {
    return this.audiences.has(audience);
  }

  /**
   * The `aud` of a token for a requested resource or scope (`https://vault.azure.net/.default`), or
   * undefined if the emulator's tenant has no such resource. Key Vault's audiences are issued as asked;
   * the other well-known Azure resources carry their canonical application id URI, so a token obtained
   * for the wrong resource meets the vault's real AKV10022. `origin` is the emulator origin the token
   * request came to: the ARM SDKs given a custom endpoint ask for `<endpoint>/.default`, so the
   * emulator's own origin is a resource too (its management plane), issued as asked.
   */
  audienceFor(resourceOrScope: string, options: { origin?: string } = {}): string | undefined {
    const resource = resourceOrScope.replace(/\/\.default$/, '').replace(/\/$/, '');
    if (this.audiences.has(resource)) return resource;
    if (options.origin !== undefined && isEmulatorOrigin(resource, options.origin)) return resource;
    return OTHER_RESOURCES[resource.toLowerCase()];
  }

  /**
   * Checks a token the way Azure Resource Manager does before it looks at the audience (signature,
   * issuer, lifetime on the emulator clock); the caller judges the audience and words the refusal in its
   * own terms. Never throws for a bad token: the problem comes back instead.
   */
  async inspect(token: string): Promise<{ claims: TokenClaims } | { problem: TokenProblem }> {
    const nowSeconds = Math.floor(this.options.clock.now() / 1000);
    let claims = this.inspected.get(token);
    if (!claims) {
      try {
        decodeProtectedHeader(token);
        ({ payload: claims } = (await jwtVerify(token, (await this.key()).publicKey, { algorithms: ['RS256'], clockTolerance: Number.MAX_SAFE_INTEGER })) as {
          payload: TokenClaims;
        });
      } catch {
        return { problem: { kind: 'invalid' } };
      }
      if (typeof claims.oid !== 'string' || typeof claims.tid !== 'string') return { problem: { kind: 'invalid' } };
      if (this.inspected.size >= CACHE_LIMIT) this.inspected.clear();
      this.inspected.set(token, claims);
    }
    if (typeof claims.iss !== 'string' || !this.issuers().includes(claims.iss)) return { problem: { kind: 'issuer', issuer: String(claims.iss) } };
    const lifetime = lifetimeProblem(claims, nowSeconds);
    if (lifetime === TOKEN_EXPIRED) return { problem: { kind: 'expired', expiresOn: Number(claims.exp), now: this.options.clock.now() } };
    if (lifetime) return { problem: { kind: 'notYetValid' } };
    return { claims };
  }

  async issue(request: IssueRequest): Promise<IssuedToken> {
    const nowSeconds = request.issuedAt ?? Math.floor(this.options.clock.now() / 1000);
    const lifetime = request.lifetimeSeconds ?? this.options.defaultLifetimeSeconds ?? 3600;
    const tid = request.tenantId ?? this.options.tenantId;
    const v2 = request.version === '2.0';
    const [v1Issuer, v2Issuer] = this.issuers(tid);
    const key = await this.key();
    const token = await new SignJWT({
      ...request.extraClaims,
      tid,
      oid: request.oid,
      sub: request.oid,
      ...(v2 ? { azp: request.appid, azpacr: '1' } : { appid: request.appid, appidacr: '1' }),
      idtyp: request.idtyp ?? 'app',
      idp: v1Issuer,
      uti: randomUUID().replaceAll('-', ''),
      ver: v2 ? '2.0' : '1.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.kid })
      .setAudience(request.audience)
      .setIssuer(request.issuer ?? (v2 ? v2Issuer! : v1Issuer!))
      .setIssuedAt(nowSeconds)
      .setNotBefore(nowSeconds)
      .setExpirationTime(nowSeconds + lifetime)
      .sign(key.privateKey);
    return { token, expiresOn: nowSeconds + lifetime, expiresIn: lifetime };
  }

  async keyId(): Promise<string> {
    return (await this.key()).kid;
  }

  /**
   * Signs an arbitrary claim set with the emulator's key: client assertions for workload identity
   * federation (a stand-in for a Kubernetes or CI token issuer).
   */
  async signAssertion(claims: Record<string, unknown>): Promise<string> {
    const key = await this.key();
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
  }

  /** Whether `token` carries a valid signature of the emulator's key (claims are not judged). */
  async hasOwnSignature(token: string): Promise<boolean> {
    try {
      await jwtVerify(token, (await this.key()).publicKey, { algorithms: ['RS256'], clockTolerance: Number.MAX_SAFE_INTEGER });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Verifies a bearer token for the vault data plane. `challenge` is attached to every 401 so the SDK
   * can re-authenticate.
   */
  async verify(token: string, challenge: string): Promise<TokenClaims> {
    const nowSeconds = Math.floor(this.options.clock.now() / 1000);
    const cached = this.verified(token, () => challenge);
    if (cached) return cached;
    try {
      decodeProtectedHeader(token);
    } catch {
      throw unauthorized('AKV10000: Request is missing a Bearer or PoP token.', challenge);
    }
    let payload: JWTPayload;
    try {
      // Lifetime is checked below, against both clocks; here only signature and structure.
      ({ payload } = await jwtVerify(token, (await this.key()).publicKey, { algorithms: ['RS256'], clockTolerance: Number.MAX_SAFE_INTEGER }));
    } catch (error) {
      throw this.verificationError(error, token, challenge);
    }
    const claims = payload as TokenClaims;
    this.checkClaims(claims, challenge);
    this.checkLifetime(claims, nowSeconds, challenge);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(token, claims);
    return claims;
  }

  /**
   * The claims of a token this service has verified before, judged again for lifetime (a 401 once it
   * has expired); undefined for a token not seen yet, which `verify` must check. Synchronous, so the
   * request pipeline stays synchronous for a client that keeps presenting its token. The challenge is
   * built only for a 401.
   */
  verified(token: string, challenge: () => string): TokenClaims | undefined {
    const cached = this.cache.get(token);
    if (!cached) return undefined;
    return this.stillValid(cached, challenge);
  }

  /** Claims this service verified before (the pipeline keeps them per connection), judged again for lifetime. */
  stillValid(claims: TokenClaims, challenge: () => string): TokenClaims {
    const problem = lifetimeProblem(claims, Math.floor(this.options.clock.now() / 1000));
    if (problem) throw unauthorized(problem, challenge());
    return claims;
  }

  private checkClaims(claims: TokenClaims, challenge: string): void {
    const audience = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    if (typeof audience !== 'string' || !this.audiences.has(audience)) {
      throw unauthorized(`AKV10022: Invalid audience. Expected ${KEY_VAULT_RESOURCE} or ${KEY_VAULT_APP_ID}, found: ${String(audience)}.`, challenge);
    }
    const issuers = this.issuers();
    if (typeof claims.iss !== 'string' || !issuers.includes(claims.iss)) {
      throw unauthorized(`AKV10032: Invalid issuer. Expected one of ${issuers.join(', ')}, found ${String(claims.iss)}.`, challenge);
    }
    if (typeof claims.oid !== 'string' || typeof claims.tid !== 'string') {
      throw unauthorized('AKV10000: Request is missing a Bearer or PoP token.', challenge);
    }
  }

  /**
   * Tokens carry iat/nbf/exp on the emulator clock. A token is expired only once it is past `exp` on
   * both the emulator clock and the wall clock (and not yet valid only while it is before `nbf` on
   * both): identity libraries cache tokens by wall-clock time and would keep presenting a token the
   * emulator had expired after its clock was moved, which no real client ever meets.
   */
  private checkLifetime(claims: TokenClaims, emulatorSeconds: number, challenge: string): void {
    const problem = lifetimeProblem(claims, emulatorSeconds);
    if (problem) throw unauthorized(problem, challenge);
  }

  private verificationError(error: unknown, token: string, challenge: string): KvError {
    if (error instanceof joseErrors.JWTExpired) return unauthorized(TOKEN_EXPIRED, challenge);
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'nbf') {
      return unauthorized('AKV10051: Token is not yet valid.', challenge);
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JOSEAlgNotAllowed) {
      const encodedHeader = token.split('.')[0] ?? '';
      return unauthorized(
        `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${encodedHeader}'.`,
        challenge,
      );
    }
    return unauthorized('AKV10000: Request is missing a Bearer or PoP token.', challenge);
  }
}

/** The 401 message for a token outside its lifetime (see checkLifetime), or undefined. */
function lifetimeProblem(claims: TokenClaims, emulatorSeconds: number): string | undefined {
  const wallSeconds = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === 'number' && Math.min(emulatorSeconds, wallSeconds) > claims.exp + CLOCK_SKEW_SECONDS) return TOKEN_EXPIRED;
  if (typeof claims.nbf === 'number' && Math.max(emulatorSeconds, wallSeconds) < claims.nbf - CLOCK_SKEW_SECONDS) {
    return 'AKV10051: Token is not yet valid.';
  }
  return undefined;
}
