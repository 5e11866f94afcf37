// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { MemorySource } from "./MemorySource";

/**
 * A stored memory as returned to callers.
 */
export type MemoryRecord = { 
/**
 * The id (`patterns.id`).
 */
id: string, 
/**
 * Title.
 */
title: string, 
/**
 * Description.
 */
description: string, 
/**
 * Content.
 */
content: string, 
/**
 * Source task, agent, outcome and evidence.
 */
source: MemorySource, 
/**
 * Tags.
 */
tags: Array<string>, 
/**
 * Domain.
 */
domain: string | null, 
/**
 * Confidence (`patterns.confidence`).
 */
confidence: number, 
/**
 * How often retrieval returned it (`patterns.usage_count`).
 */
usageCount: number, 
/**
 * Creation time, SQLite form `YYYY-MM-DD HH:MM:SS` UTC (`patterns.created_at`).
 */
createdAt: string, 
/**
 * Last retrieval time, same form, if any.
 */
lastUsed: string | null, 
/**
 * Embedding model name, if the memory has an embedding.
 */
embeddingModel: string | null, 
/**
 * Embedding dimension, if the memory has an embedding.
 */
embeddingDims: number | null, };
