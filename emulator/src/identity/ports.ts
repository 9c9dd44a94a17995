// Storage the directory needs; store/ implements it with SQLite. 'config' rows are rewritten from the
// config file at each start; 'admin' rows (created through the admin API) stay until deleted.
import type { Principal } from './principals.js';

export type PrincipalOrigin = 'config' | 'admin';

export interface StoredPrincipal {
  principal: Principal;
  origin: PrincipalOrigin;
}

export interface PrincipalRepository {
  list(): StoredPrincipal[];
  /** Inserts or replaces the principal with this object id (and any other row holding its name). */
  upsert(entry: StoredPrincipal): void;
  remove(objectId: string): void;
  /** Replaces every 'config' row (and any row colliding with them) with these, atomically. */
  replaceConfigured(principals: Principal[]): void;
}
