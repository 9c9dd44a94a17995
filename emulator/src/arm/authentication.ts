// The bearer check of the management plane, as Azure Resource Manager makes it before anything else
// (docs azure-resource-manager/management/request-limits-and-throttling; observed 401 bodies): the token
// must be for ARM (https://management.azure.com/ or https://management.core.windows.net/, with or without
// the trailing slash) or for the emulator's own origin (what the ARM SDKs ask for when given a custom
// endpoint), signed by the emulator, from its tenant and within its lifetime. Data-plane tokens are
// refused with ARM's InvalidAuthenticationTokenAudience; the data plane goes on refusing ARM tokens with
// AKV10022. The token service remembers the signatures it has checked.
import { armErrors } from '../errors.js';
import { isEmulatorOrigin, type TokenClaims, type TokenService } from '../identity/tokens.js';

const MANAGEMENT_AUDIENCES = ['https://management.core.windows.net/', 'https://management.core.windows.net', 'https://management.azure.com/', 'https://management.azure.com'];
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** ARM's expiry wording: '1/2/2024 3:04:05 PM'. */
function armTime(ms: number): string {
  const d = new Date(ms);
  const hours = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${hours % 12 === 0 ? 12 : hours % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

export function acceptsManagementAudience(audience: string, origin: string): boolean {
  return MANAGEMENT_AUDIENCES.includes(audience) || isEmulatorOrigin(audience.replace(/\/$/, ''), origin);
}

/** The pipeline's management-plane authentication (http/pipeline.ts `management`). */
export function managementAuthentication(tokens: TokenService): (authorization: string | undefined, origin: string) => TokenClaims | Promise<TokenClaims> {
  // ARM's own challenge names the public cloud's authority (observed: authorization_uri="https://login.windows.net/"),
  // which the HTTPS proxy answers for; on the emulator's origin, the emulator is the authority.
  const challengeFor = (origin: string, description: string) =>
    `Bearer authorization_uri="${/^https?:\/\/management\.azure\.com(:\d+)?$/i.test(origin) ? 'https://login.windows.net' : origin}/", error="invalid_token", error_description="${description}"`;
  const judge = (claims: TokenClaims, origin: string): TokenClaims => {
    const audience = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
    if (typeof audience !== 'string' || !acceptsManagementAudience(audience, origin)) {
      throw armErrors.wrongAudience(String(audience), MANAGEMENT_AUDIENCES, challengeFor(origin, 'The access token has been obtained for wrong audience or resource.'));
    }
    return claims;
  };
  return (authorization, origin) => {
    if (authorization === undefined || authorization === '') throw armErrors.missingAuthorization(challengeFor(origin, "The authentication failed because of missing 'Authorization' header."));
    const match = BEARER.exec(authorization);
    if (!match) throw armErrors.malformedAuthorization(challengeFor(origin, "The authentication failed because of invalid 'Authorization' header."));
    return tokens.inspect(match[1]!).then((result) => {
      if ('problem' in result) {
        const problem = result.problem;
        const challenge = challengeFor(origin, 'The access token is invalid.');
        switch (problem.kind) {
          case 'invalid':
            throw armErrors.invalidToken(challenge);
          case 'issuer':
            throw armErrors.wrongIssuer(problem.issuer, tokens.tenantId, challenge);
          case 'expired':
            throw armErrors.expiredToken(armTime(problem.expiresOn * 1000), armTime(problem.now), challengeFor(origin, 'The access token expiry UTC time is earlier than current UTC time.'));
          case 'notYetValid':
            throw armErrors.notYetValidToken(challenge);
        }
      }
      return judge(result.claims, origin);
    });
  };
}
