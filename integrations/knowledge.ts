/**
 * `sys.knowledge`: the knowledge graph built from every processed chunk — typed entities with
 * stable ids, co-occurrence and pattern relations, temporal facts — and its queries.
 */

import { toMs } from './time';
import { optionsObject, requireString, toJsonText } from './json_input';
import { call, LeanAgenticError } from './errors';
import type { NativeSystemHandle } from './native';
import type { Entity } from './types';

// The records are generated from the Rust types (`src/ts_types.rs`).
export type { EntityRecord } from './generated/EntityRecord';
export type { Related } from './generated/Related';
export type { Fact } from './generated/Fact';
export type { GraphStats } from './generated/GraphStats';
import type { EntityRecord } from './generated/EntityRecord';
import type { Related } from './generated/Related';
import type { Fact } from './generated/Fact';
import type { GraphStats } from './generated/GraphStats';

/** The knowledge graph of a system. */
export class KnowledgeGraph {
  /** @internal */
  constructor(private readonly nat: NativeSystemHandle) {}

  /** Entities by type and/or name (or id, with `:`) prefix. */
  entities(query: { type?: string; prefix?: string; limit?: number } = {}): EntityRecord[] {
    const o = optionsObject<{ type?: string; prefix?: string; limit?: number }>(query, 'the entity query');
    const q = { entityType: o.type ?? null, prefix: o.prefix ?? null, limit: o.limit ?? 100 };
    return JSON.parse(call(() => this.nat.kgEntities(toJsonText(q, 'the entity query'))));
  }

  /** One entity, or null. */
  entity(id: string): EntityRecord | null {
    return JSON.parse(call(() => this.nat.kgEntity(requireString(id, 'the entity id'))));
  }

  /** Entities within `depth` hops (default 1), optionally along one relation. */
  related(id: string, options: { depth?: number; relation?: string } = {}): Related[] {
    const o = optionsObject<{ depth?: number; relation?: string }>(options, 'related options');
    const depth = o.depth ?? 1;
    if (!Number.isInteger(depth) || depth < 1) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', `depth must be a positive integer, got ${depth}`);
    }
    return JSON.parse(call(() => this.nat.kgRelated(requireString(id, 'the entity id'), depth, o.relation ?? null)));
  }

  /** The shortest path of entity ids from one entity to another, or null. */
  path(fromId: string, toId: string): string[] | null {
    return JSON.parse(call(() => this.nat.kgPath(requireString(fromId, 'the start id'), requireString(toId, 'the end id'))));
  }

  /** Facts valid at a time (Date, ms or ISO string). */
  factsAt(time: number | Date | string): Fact[] {
    return JSON.parse(call(() => this.nat.kgFactsAt(toMs(time))));
  }

  /** Adds a temporal fact between two known entities; true when new. */
  addFact(subject: string, relation: string, object: string, validity: { validFrom?: number | Date | string; validUntil?: number | Date | string } = {}): boolean {
    const v = optionsObject<{ validFrom?: number | Date | string; validUntil?: number | Date | string }>(validity, 'the validity');
    const from = v.validFrom === undefined ? null : toMs(v.validFrom);
    const until = v.validUntil === undefined ? null : toMs(v.validUntil);
    return call(() =>
      this.nat.kgAddFact(requireString(subject, 'the subject id'), requireString(relation, 'the relation'), requireString(object, 'the object id'), from, until),
    );
  }

  /**
   * Counts of entities, relations, facts and entities by type, and `valuesNotKept`: mentions of new
   * values (numbers, amounts, dates) that got no node because the graph holds 10,000 values already.
   */
  stats(): GraphStats {
    return JSON.parse(call(() => this.nat.kgStats()));
  }

  /** Adds names of an entity type (built-in or your own, e.g. `Product`) to the gazetteer. */
  addDictionary(type: string, names: string[]): number {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw new LeanAgenticError('ERR_INVALID_INPUT', 'addDictionary takes a type and an array of names');
    }
    return call(() => this.nat.kgAddDictionary(requireString(type, 'the entity type'), names));
  }

  /** Entities in a text, without changing the graph. */
  extract(text: string): Entity[] {
    if (typeof text !== 'string') throw new LeanAgenticError('ERR_INVALID_INPUT', 'extract takes a string');
    return JSON.parse(call(() => this.nat.kgExtract(text)));
  }
}
