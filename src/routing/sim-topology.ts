// Topologies for the routing simulator (simulation.ts): a line, Barabási–Albert preferential
// attachment and a random geometric graph, each with latencies that grow with distance.
import { randInt, type Rng } from './rng.ts';

/** Undirected edges [a, b, one-way latency ms]. */
export interface Topology {
  readonly n: number;
  readonly edges: readonly (readonly [number, number, number])[];
}

export function lineTopology(n: number, latencyMs = 10): Topology {
  const edges: [number, number, number][] = [];
  for (let i = 0; i + 1 < n; i++) edges.push([i, i + 1, latencyMs]);
  return { n, edges };
}

/** Random points in a 2-D square; latency grows with distance (1..~50 ms). */
function positions(n: number, rng: Rng): Float64Array {
  const p = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) p[i] = rng();
  return p;
}

function latency(p: Float64Array, a: number, b: number): number {
  const dx = (p[2 * a] ?? 0) - (p[2 * b] ?? 0);
  const dy = (p[2 * a + 1] ?? 0) - (p[2 * b + 1] ?? 0);
  return 1 + Math.round(35 * Math.hypot(dx, dy) * 10) / 10;
}

/** Barabási–Albert preferential attachment: each new node links to m existing ones (mean degree ≈ 2m); always connected. */
export function barabasiAlbert(n: number, m: number, rng: Rng): Topology {
  const p = positions(n, rng);
  const edges: [number, number, number][] = [];
  const ends: number[] = []; // every edge endpoint, so picking uniformly is picking by degree
  const seed = Math.min(n, m + 1);
  for (let a = 0; a < seed; a++) {
    for (let b = a + 1; b < seed; b++) { edges.push([a, b, latency(p, a, b)]); ends.push(a, b); }
  }
  for (let v = seed; v < n; v++) {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(m, v)) chosen.add(ends[randInt(rng, ends.length)] ?? randInt(rng, v));
    for (const u of chosen) { edges.push([v, u, latency(p, v, u)]); ends.push(v, u); }
  }
  return { n, edges };
}

/** Random geometric graph with the radius chosen for the mean degree, stitched into one component. */
export function randomGeometric(n: number, degree: number, rng: Rng): Topology {
  const p = positions(n, rng);
  const r = Math.sqrt(degree / (Math.PI * n));
  const cells = Math.max(1, Math.floor(1 / r));
  const grid = new Map<number, number[]>();
  const cellOf = (i: number): [number, number] => [Math.min(cells - 1, Math.floor((p[2 * i] ?? 0) * cells)), Math.min(cells - 1, Math.floor((p[2 * i + 1] ?? 0) * cells))];
  for (let i = 0; i < n; i++) {
    const [cx, cy] = cellOf(i);
    const k = cx * cells + cy;
    const list = grid.get(k);
    if (list === undefined) grid.set(k, [i]); else list.push(i);
  }
  const edges: [number, number, number][] = [];
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => { while (parent[x] !== x) { const px = parent[x] ?? x; parent[x] = parent[px] ?? px; x = px; } return x; };
  for (let i = 0; i < n; i++) {
    const [cx, cy] = cellOf(i);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
      for (const j of grid.get((cx + dx) * cells + (cy + dy)) ?? []) {
        if (j <= i || cx + dx < 0 || cy + dy < 0 || cx + dx >= cells || cy + dy >= cells) continue;
        if (Math.hypot((p[2 * i] ?? 0) - (p[2 * j] ?? 0), (p[2 * i + 1] ?? 0) - (p[2 * j + 1] ?? 0)) > r) continue;
        edges.push([i, j, latency(p, i, j)]);
        parent[find(i)] = find(j);
      }
    }
  }
  // Stitch each stray component to a random node of another (long links are realistic enough).
  for (let i = 1; i < n; i++) {
    if (find(i) !== find(0)) { const j = randInt(rng, i); if (find(j) === find(0)) { edges.push([i, j, latency(p, i, j)]); parent[find(i)] = find(0); } else { edges.push([i, 0, latency(p, i, 0)]); parent[find(i)] = find(0); } }
  }
  return { n, edges };
}
