// SQLite storage of what the management plane keeps beyond the data plane's rows (arm/ports.ts):
// resource groups, and per vault and per role assignment a JSON record (migration 5).
import type { ResourceGroupRecord, RoleAssignmentRecord, VaultRecord } from '../arm/model.js';
import type { ArmRepository } from '../arm/ports.js';
import type { SqliteDatabase } from './database.js';

interface GroupRow {
  name: string;
  location: string;
  tags: string;
  created_at: number;
}

const toGroup = (row: GroupRow): ResourceGroupRecord => ({ name: row.name, location: row.location, tags: JSON.parse(row.tags) as Record<string, string>, createdAt: row.created_at });

export class SqliteArmRepository implements ArmRepository {
  private readonly stmt;

  constructor(private readonly db: SqliteDatabase) {
    this.stmt = {
      findGroup: db.prepare<[string], GroupRow>('SELECT name, location, tags, created_at FROM arm_resource_groups WHERE name_key = ?'),
      listGroups: db.prepare<[], GroupRow>('SELECT name, location, tags, created_at FROM arm_resource_groups ORDER BY name_key'),
      putGroup: db.prepare<[string, string, string, string, number]>(
        'INSERT OR REPLACE INTO arm_resource_groups (name_key, name, location, tags, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      removeGroup: db.prepare<[string]>('DELETE FROM arm_resource_groups WHERE name_key = ?'),
      findVault: db.prepare<[string], string>('SELECT body FROM arm_vaults WHERE name = ?').pluck(),
      putVault: db.prepare<[string, string]>('INSERT OR REPLACE INTO arm_vaults (name, body) VALUES (?, ?)'),
      removeVault: db.prepare<[string]>('DELETE FROM arm_vaults WHERE name = ?'),
      findAssignment: db.prepare<[string], string>('SELECT body FROM arm_role_assignments WHERE id = ?').pluck(),
      putAssignment: db.prepare<[string, string]>('INSERT OR REPLACE INTO arm_role_assignments (id, body) VALUES (?, ?)'),
      removeAssignment: db.prepare<[string]>('DELETE FROM arm_role_assignments WHERE id = ?'),
    };
  }

  findResourceGroup(name: string): ResourceGroupRecord | undefined {
    const row = this.stmt.findGroup.get(name.toLowerCase());
    return row && toGroup(row);
  }

  listResourceGroups(): ResourceGroupRecord[] {
    return this.stmt.listGroups.all().map(toGroup);
  }

  putResourceGroup(group: ResourceGroupRecord): void {
    this.stmt.putGroup.run(group.name.toLowerCase(), group.name, group.location, JSON.stringify(group.tags), group.createdAt);
  }

  removeResourceGroup(name: string): void {
    this.stmt.removeGroup.run(name.toLowerCase());
  }

  findVault(name: string): VaultRecord | undefined {
    const body = this.stmt.findVault.get(name.toLowerCase()) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as VaultRecord);
  }

  putVault(name: string, record: VaultRecord): void {
    this.stmt.putVault.run(name.toLowerCase(), JSON.stringify(record));
  }

  removeVault(name: string): void {
    this.stmt.removeVault.run(name.toLowerCase());
  }

  findRoleAssignment(id: string): RoleAssignmentRecord | undefined {
    const body = this.stmt.findAssignment.get(id.toLowerCase()) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as RoleAssignmentRecord);
  }

  putRoleAssignment(id: string, record: RoleAssignmentRecord): void {
    this.stmt.putAssignment.run(id.toLowerCase(), JSON.stringify(record));
  }

  removeRoleAssignment(id: string): void {
    this.stmt.removeAssignment.run(id.toLowerCase());
  }

  clear(): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM arm_resource_groups; DELETE FROM arm_vaults; DELETE FROM arm_role_assignments;');
    })();
  }
}
