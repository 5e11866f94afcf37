/**
 * `sys.knowledge`: the knowledge graph built from every processed chunk — typed entities with
 * stable ids, co-occurrence and pattern relations, temporal facts — and its queries.
 */

import { toMs } from './bank';
import { call, LeanAgenticError } from './errors';
import type { NativeSystemHandle } from './native';
import type { Entity } from './types';

/** A node of the graph. */
export interface EntityRecord {
  id: string;
  name: string;
  type: string;
  mentions: number;
  firstSeenMs: number;
  lastSeenMs: number;
  degree: number;
}

/** A node reached by {@link KnowledgeGraph.related}. */
export interface Related {
  id: string;
  name: string;
  type: string;
  relation: string;
  weight: number;
  depth: number;
  via: string;
  direction: 'out' | 'in' | 'both';
}

/** A temporal fact. */
export interface Fact {
  subject: string;
  relation: string;
  object: string;
  validFromMs: number | null;
  validUntilMs: number | null;
  source: string;
}

/** The knowledge graph of a system. */
export class KnowledgeGraph {
  /** @internal */
  constructor(private readonly nat: NativeSystemHandle) {}

  /** Entities by type and/or name (or id, with `:`) prefix. */
  entities(query: { type?: string; prefix?: string; limit?: number } = {}): EntityRecord[] {
    const q = { entityType: query.type ?? null, prefix: query.prefix ?? null, limit: query.limit ?? 100 };
    return JSON.parse(call(() => this.nat.kgEntities(JSON.stringify(q))));
  }

  /** One entity, or null. */
  entity(id: string): EntityRecord | null {
    return JSON.parse(call(() => this.nat.kgEntity(String(id))));
  }

  /** Entities within `depth` hops (default 1), optionally along one relation. */
  related(id: string, options: { depth?: number; relation?: string } = {}): Related[] {
    const depth = options.depth ?? 1;
    if (!Number.isInteger(depth) || depth < 1) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `depth must be a positive integer, got ${depth}`);
    }
    return JSON.parse(call(() => this.nat.kgRelated(String(id), depth, options.relation ?? null)));
  }

  /** The shortest path of entity ids from one entity to another, or null. */
  path(fromId: string, toId: string): string[] | null {
    return JSON.parse(call(() => this.nat.kgPath(String(fromId), String(toId))));
  }

  /** Facts valid at a time (Date, ms or ISO string). */
  factsAt(time: number | Date | string): Fact[] {
    return JSON.parse(call(() => this.nat.kgFactsAt(toMs(time))));
  }

  /** Adds a temporal fact between two known entities; true when new. */
  addFact(subject: string, relation: string, object: string, validity: { validFrom?: number | Date | string; validUntil?: number | Date | string } = {}): boolean {
    const from = validity.validFrom === undefined ? null : toMs(validity.validFrom);
    const until = validity.validUntil === undefined ? null : toMs(validity.validUntil);
    return call(() => this.nat.kgAddFact(subject, relation, object, from, until));
  }

  /**
   * Counts of entities, relations, facts and entities by type, and `valuesNotKept`: mentions of new
   * values (numbers, amounts, dates) that got no node because the graph holds 10,000 values already.
   */
  stats(): { entities: number; relations: number; facts: number; valuesNotKept: number; byType: Record<string, number> } {
    return JSON.parse(call(() => this.nat.kgStats()));
  }

  /** Adds names of an entity type (built-in or your own, e.g. `Product`) to the gazetteer. */
  addDictionary(type: string, names: string[]): number {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'addDictionary takes a type and an array of names');
    }
    return call(() => this.nat.kgAddDictionary(String(type), names));
  }

  /** Entities in a text, without changing the graph. */
  extract(text: string): Entity[] {
    if (typeof text !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', 'extract takes a string');
    return JSON.parse(call(() => this.nat.kgExtract(text)));
  }
}
