// SQLite storage of the directory (principals) and of role assignments and access policies. Rows carry
// their origin ('config' or 'admin') so a start can rewrite what the config file declares and keep what
// the admin API created.
import type { AccessRepository, StoredAssignment, StoredPolicy } from '../access/ports.js';
import type { SecretPermission } from '../access/operations.js';
import type { PrincipalRepository, StoredPrincipal } from '../identity/ports.js';
import type { Principal } from '../identity/principals.js';
import type { SqliteDatabase } from './database.js';

interface PrincipalRow {
  object_id: string;
  body: string;
  origin: StoredPrincipal['origin'];
}

export class SqlitePrincipalRepository implements PrincipalRepository {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      list: db.prepare<[], PrincipalRow>('SELECT object_id, body, origin FROM principals ORDER BY name_key'),
      removeCollisions: db.prepare<[string, string]>('DELETE FROM principals WHERE object_id = ? OR name_key = ?'),
      insert: db.prepare<[string, string, string, string, string]>('INSERT INTO principals (object_id, name_key, kind, body, origin) VALUES (?, ?, ?, ?, ?)'),
      remove: db.prepare<[string]>('DELETE FROM principals WHERE object_id = ?'),
      removeConfigured: db.prepare("DELETE FROM principals WHERE origin = 'config'"),
    };
  }

  list(): StoredPrincipal[] {
    return this.statements.list.all().map((row) => ({ principal: JSON.parse(row.body) as Principal, origin: row.origin }));
  }

  upsert(entry: StoredPrincipal): void {
    this.db.transaction(() => this.write(entry))();
  }

  remove(objectId: string): void {
    this.statements.remove.run(objectId.toLowerCase());
  }

  replaceConfigured(principals: Principal[]): void {
    this.db.transaction(() => {
      this.statements.removeConfigured.run();
      for (const principal of principals) this.write({ principal, origin: 'config' });
    })();
  }

  private write({ principal, origin }: StoredPrincipal): void {
    const objectId = principal.objectId.toLowerCase();
    const nameKey = principal.name.toLowerCase();
    this.statements.removeCollisions.run(objectId, nameKey);
    this.statements.insert.run(objectId, nameKey, principal.kind, JSON.stringify(principal), origin);
  }
}

interface AssignmentRow {
  id: string;
  principal_id: string;
  role_id: string;
  scope: string;
  origin: StoredAssignment['origin'];
}

interface PolicyRow {
  vault: string;
  principal_id: string;
  secrets: string;
  origin: StoredPolicy['origin'];
}

export class SqliteAccessRepository implements AccessRepository {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      listAssignments: db.prepare<[], AssignmentRow>('SELECT id, principal_id, role_id, scope, origin FROM role_assignments ORDER BY id'),
      insertAssignment: db.prepare<[string, string, string, string, string]>(
        'INSERT OR REPLACE INTO role_assignments (id, principal_id, role_id, scope, origin) VALUES (?, ?, ?, ?, ?)',
      ),
      deleteAssignment: db.prepare<[string]>('DELETE FROM role_assignments WHERE id = ?'),
      deleteConfiguredAssignments: db.prepare("DELETE FROM role_assignments WHERE origin = 'config'"),
      listPolicies: db.prepare<[], PolicyRow>('SELECT vault, principal_id, secrets, origin FROM access_policies ORDER BY vault, principal_id'),
      upsertPolicy: db.prepare<[string, string, string, string]>(
        'INSERT OR REPLACE INTO access_policies (vault, principal_id, secrets, origin) VALUES (?, ?, ?, ?)',
      ),
      deletePolicy: db.prepare<[string, string]>('DELETE FROM access_policies WHERE vault = ? AND principal_id = ?'),
      deleteConfiguredPolicies: db.prepare("DELETE FROM access_policies WHERE origin = 'config'"),
    };
  }

  listAssignments(): StoredAssignment[] {
    return this.statements.listAssignments
      .all()
      .map((r) => ({ id: r.id, principalId: r.principal_id, roleId: r.role_id, scope: r.scope, origin: r.origin }));
  }

  insertAssignment(a: StoredAssignment): void {
    this.statements.insertAssignment.run(a.id, a.principalId, a.roleId, a.scope, a.origin);
  }

  deleteAssignment(id: string): void {
    this.statements.deleteAssignment.run(id);
  }

  listPolicies(): StoredPolicy[] {
    return this.statements.listPolicies.all().map((r) => ({
      vault: r.vault,
      principalId: r.principal_id,
      secrets: JSON.parse(r.secrets) as SecretPermission[],
      origin: r.origin,
    }));
  }

  upsertPolicy(p: StoredPolicy): void {
    this.statements.upsertPolicy.run(p.vault, p.principalId, JSON.stringify(p.secrets), p.origin);
  }

  deletePolicy(vault: string, principalId: string): void {
    this.statements.deletePolicy.run(vault, principalId);
  }

  replaceConfigured(assignments: StoredAssignment[], policies: StoredPolicy[]): void {
    this.db.transaction(() => {
      this.statements.deleteConfiguredAssignments.run();
      this.statements.deleteConfiguredPolicies.run();
      for (const a of assignments) this.insertAssignment(a);
      for (const p of policies) this.upsertPolicy(p);
    })();
  }
}
