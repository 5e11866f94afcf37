/**
 * The native addon, typed by the declarations `napi build --platform` generates from the Rust
 * binding (`index.d.ts` beside `index.js`, the loader): the TypeScript side never restates the
 * native surface, so it cannot drift from it.
 */

import type * as Native from '../index.js';

/** The native engine handle (`NativeSystem` in `src/binding/system.rs`). */
export type NativeSystemHandle = Native.NativeSystem;

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Native = require('../index.js');
