// Admin API: GET /_emulator/network, the network the emulator pretends its callers are on (the config
// file's private endpoints with the addresses they listen on, subnets and trusted services). Vaults'
// own network settings are read and changed with /_emulator/vaults/{name}.
import type { FastifyInstance } from 'fastify';
import { formatCidr } from '../../network/addresses.js';
import type { NetworkConfig } from '../../network/config.js';
import type { OpenPrivateEndpoint } from '../../network/listeners.js';

const admin = { config: { surface: 'admin' as const } };

export interface AdminNetworkOptions {
  config: NetworkConfig;
  /** The private endpoints' listeners, once open (empty before the app is ready). */
  endpoints: () => OpenPrivateEndpoint[];
}

export function adminNetworkRoutes(app: FastifyInstance, options: AdminNetworkOptions): void {
  app.get('/_emulator/network', admin, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send({
      privateEndpoints: options.endpoints().map((e) => ({ name: e.name, vault: e.vault, address: e.address, port: e.boundPort })),
      subnets: options.config.subnets.map((s) => ({ id: s.id, addressPrefix: formatCidr(s.addressPrefix) })),
      trustedServices: options.config.trustedServices,
    }),
  );
}
