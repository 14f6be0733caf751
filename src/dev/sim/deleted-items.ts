/**
 * Entra's deleted items: a deleted application or service principal waits here for 30 days
 * (of the simulated calendar), restorable, unless permanently deleted first. A name whose
 * application was deleted can be used by a new one.
 */
import type { SimApp, SimSp } from './directory.ts';

/** Microsoft: "A recently deleted item will remain available for up to 30 days." */
const DELETED_ITEMS_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export type DeletedKind = 'application' | 'servicePrincipal';

export interface DeletedObject {
  kind: DeletedKind;
  obj: SimApp | SimSp;
  /** Simulated date of the delete (ms). */
  deletedDate: number;
}

export class DeletedItems {
  private readonly items = new Map<string, DeletedObject>();
  /** Applications deleted, by display name (a restore gives the name back). */
  private readonly names = new Map<string, number>();

  add(kind: DeletedKind, obj: SimApp | SimSp, deletedDate: number): void {
    this.items.set(obj.id, { kind, obj, deletedDate });
    if (kind === 'application') this.names.set(obj.displayName, (this.names.get(obj.displayName) ?? 0) + 1);
  }

  /** The item, or undefined when absent or past retention at simulated time `simNow` (then purged). */
  get(id: string, simNow: number): DeletedObject | undefined {
    const d = this.items.get(id);
    if (d && simNow - d.deletedDate >= DELETED_ITEMS_RETENTION_MS) {
      this.items.delete(id);
      return undefined;
    }
    return d;
  }

  /** Items of one kind still retained at `simNow`, oldest delete first. */
  list(kind: DeletedKind, simNow: number): DeletedObject[] {
    const out: DeletedObject[] = [];
    for (const id of [...this.items.keys()]) {
      const d = this.get(id, simNow);
      if (d && d.kind === kind) out.push(d);
    }
    return out.sort((a, b) => a.deletedDate - b.deletedDate || a.obj.id.localeCompare(b.obj.id));
  }

  /** Permanent delete: gone for good (the name stays free). */
  purge(id: string): boolean {
    return this.items.delete(id);
  }

  /** Take an item out to restore it; the application's name counts as used again. */
  restore(id: string): DeletedObject | undefined {
    const d = this.items.get(id);
    if (!d) return undefined;
    this.items.delete(id);
    if (d.kind === 'application') this.names.set(d.obj.displayName, (this.names.get(d.obj.displayName) ?? 1) - 1);
    return d;
  }

  /** How many applications with this display name were deleted (and not restored). */
  deletedByDisplayName(name: string): number {
    return this.names.get(name) ?? 0;
  }
}
