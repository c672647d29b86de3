/**
 * Seedable randomness for the sandbox providers. The demo seeds it from the clock; tests pass a
 * fixed seed so every spam, tab, duplicate and loss decision is reproducible.
 */

/** A uniform draw in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, good enough for simulation (not for secrets). */
export function createPrng(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box-Muller); consumes exactly two uniform draws. */
export function normal(random: Random): number {
  const u1 = Math.max(random(), Number.MIN_VALUE);
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A log-normal draw with the given median; sigma is the spread of its logarithm. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(random));
}

/** A uniform draw in [min, max). */
export function uniform(random: Random, min: number, max: number): number {
  return min + (max - min) * random();
}

/** Lower-case hex of n random digits (queue ids, message ids in provider stamps). */
export function randomHex(random: Random, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

/** Upper-case alphanumerics (Microsoft-style server names, Orange ME ids). */
export function randomAlnum(random: Random, n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}
