// The vault's network rules in the data-plane pipeline (http/pipeline.ts): right after authentication
// (the denial names the caller, so the token is read first) and before authorization (spec §5.2), so a
// caller outside the rules gets 403 ForbiddenByFirewall / ForbiddenByConnection whatever its roles. The
// client address is the TCP peer (http/connections.ts), which behind the emulator's own HTTPS proxy is
// the proxy's client: the proxy hands its decrypted sockets to this same server. The decision is the
// network domain's (network/evaluate.ts); the admin API and the token endpoints never reach this step.
import { describeCaller, type Caller } from '../access/evaluate.js';
import { errors } from '../errors.js';
import { isOpen, type NetworkRules } from '../network/evaluate.js';
import { clientAddressOf, connectionTagOf } from './connections.js';
import type { DataPlaneStep } from './pipeline.js';

export interface NetworkRulesStepOptions {
  rules: NetworkRules;
  region: string;
}

export function networkRulesStep(options: NetworkRulesStepOptions): DataPlaneStep {
  return (request) => {
    const claims = request.kv.claims;
    if (claims === undefined) return;
    const vault = request.kv.vault();
    if (isOpen(vault)) return;
    const tag = connectionTagOf(request.socket);
    const address = clientAddressOf(request.socket);
    const callerAppId = claims.appid ?? claims.azp;
    const decision = options.rules.evaluate({
      address,
      vault,
      ...(tag?.via === 'private-endpoint' && tag.privateEndpoint && { privateEndpoint: tag.privateEndpoint }),
      ...(callerAppId !== undefined && { callerAppId }),
    });
    if (decision.allowed) return;
    const caller = describeCaller(claims as Caller);
    throw decision.denial === 'firewall'
      ? errors.forbiddenByFirewall({ address, caller, vault: vault.name, region: options.region })
      : errors.forbiddenByConnection({ caller, vault: vault.name, region: options.region });
  };
}
