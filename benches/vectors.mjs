// Seeded vectors for the bank benchmarks (ann_vectors.mjs, pg_bank.mjs): reproducible full-rank
// data, not low-rank synthetic sets any projection captures.

/** A seeded generator of standard normal numbers (xorshift + Box–Muller). */
export function gaussian(seed) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  let spare = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(u()));
    const t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** Scales `v` to unit length in place and returns it. */
export function normalise(v) {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/**
 * Rows of a Gaussian mixture: `centres` random centres in `dims` dimensions, each row a centre
 * plus per-dimension noise of the same scale, normalised (clustered like real embedding sets,
 * but full rank). Queries are drawn the same way.
 */
export function mixture(seed, dims, centres = 2000) {
  const g = gaussian(seed);
  const cs = Array.from({ length: centres }, () => Float32Array.from({ length: dims }, g));
  const pick = gaussian(seed + 1);
  return () => {
    const c = cs[Math.floor(Math.abs(pick() * 1e6)) % cs.length];
    return normalise(Float32Array.from(c, (x) => x + g()));
  };
}
