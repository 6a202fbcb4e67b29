// Band-limited resampling with a Kaiser-windowed sinc. When downsampling, the kernel is
// stretched so its cut-off sits below the output Nyquist frequency: content that would alias
// is filtered out rather than folded back (bare linear interpolation would fold it).

const ZERO_CROSSINGS = 16; // kernel half-width, in zero crossings of the sinc
const TABLE_RES = 512; // table samples per zero crossing (linear interpolation between them)
const KAISER_BETA = 8.6; // ~ -90 dB stopband
const ROLLOFF = 0.94; // cut-off as a fraction of the lower Nyquist: leaves a transition band

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** kernel(u) = sinc(u) * kaiser(u / ZERO_CROSSINGS), sampled at u = i / TABLE_RES. */
const KERNEL: Float64Array = (() => {
  const n = ZERO_CROSSINGS * TABLE_RES;
  const t = new Float64Array(n + 2);
  const norm = besselI0(KAISER_BETA);
  for (let i = 0; i <= n; i++) {
    const u = i / TABLE_RES;
    const sinc = i === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
    const r = u / ZERO_CROSSINGS;
    t[i] = (sinc * besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r)))) / norm;
  }
  return t;
})();

function kernelAt(u: number): number {
  const pos = Math.abs(u) * TABLE_RES;
  const i = Math.floor(pos);
  if (i >= ZERO_CROSSINGS * TABLE_RES) return 0;
  const frac = pos - i;
  return (KERNEL[i] ?? 0) * (1 - frac) + (KERNEL[i + 1] ?? 0) * frac;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

const MAX_POLYPHASE_COEFFS = 4_000_000;
/** Multiply-adds between two yields of resampleSteps (a few ms). */
const CHUNK_MACS = 1 << 21;

/** About how many multiply-adds resampling `length` samples takes (0 when the rates are equal). */
export function resampleCost(length: number, inRate: number, outRate: number): number {
  if (inRate === outRate) return 0;
  const ratio = outRate / inRate;
  const taps = 2 * Math.ceil(ZERO_CROSSINGS / (Math.min(1, ratio) * ROLLOFF)) + 2;
  return Math.floor(length * ratio) * taps;
}

/** Resample mono samples between integer rates (Hz); returns the input itself when equal. */
export function resample(input: Float32Array, inRate: number, outRate: number): Float32Array {
  const steps = resampleSteps(input, inRate, outRate);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/**
 * As resample, yielding between chunks of about CHUNK_MACS multiply-adds.
 * Output sample n sits at input time t = n * p / q (p/q = inRate/outRate in lowest terms), so
 * only q distinct fractional offsets occur: their filters are computed once (polyphase).
 */
export function* resampleSteps(input: Float32Array, inRate: number, outRate: number): Generator<void, Float32Array, void> {
  if (inRate === outRate) return input;
  const ratio = outRate / inRate;
  const outLength = Math.floor(input.length * ratio);
  const out = new Float32Array(outLength);
  // Cut-off in cycles per input sample; the kernel's zero crossings are spaced 1/(2*fc) apart.
  const fc = 0.5 * Math.min(1, ratio) * ROLLOFF;
  const gain = 2 * fc;
  const halfWidth = ZERO_CROSSINGS / gain; // in input samples
  const g = gcd(inRate, outRate);
  const p = inRate / g;
  const q = outRate / g;
  const taps = 2 * Math.ceil(halfWidth) + 2;
  const first = -Math.ceil(halfWidth); // tap j covers input index floor(t) + first + j
  if (!Number.isInteger(p) || !Number.isInteger(q) || q * taps > MAX_POLYPHASE_COEFFS) {
    return yield* resampleDirect(input, out, ratio, gain, halfWidth);
  }
  const coeffs = new Float32Array(q * taps);
  const phasesPerChunk = Math.max(1, Math.floor(CHUNK_MACS / 4 / taps));
  for (let phase = 0; phase < q; phase++) {
    if (phase > 0 && phase % phasesPerChunk === 0) yield;
    const frac = phase / q;
    for (let j = 0; j < taps; j++) coeffs[phase * taps + j] = gain * kernelAt(gain * (frac - (first + j)));
  }
  const len = input.length;
  const perChunk = Math.max(1, Math.floor(CHUNK_MACS / taps));
  for (let n = 0; n < outLength; n++) {
    if (n > 0 && n % perChunk === 0) yield;
    const num = n * p;
    const base = Math.floor(num / q);
    const phase = num - base * q;
    const k0 = base + first;
    const j0 = Math.max(0, -k0);
    const j1 = Math.min(taps, len - k0);
    const off = phase * taps;
    let acc = 0;
    for (let j = j0; j < j1; j++) acc += (input[k0 + j] as number) * (coeffs[off + j] as number);
    out[n] = acc;
  }
  return out;
}

function* resampleDirect(input: Float32Array, out: Float32Array, ratio: number, gain: number, halfWidth: number): Generator<void, Float32Array, void> {
  const last = input.length - 1;
  // kernelAt costs several multiply-adds' worth: smaller chunks.
  const perChunk = Math.max(1, Math.floor(CHUNK_MACS / 4 / (2 * halfWidth + 1)));
  for (let n = 0; n < out.length; n++) {
    if (n > 0 && n % perChunk === 0) yield;
    const t = n / ratio;
    const k0 = Math.max(0, Math.ceil(t - halfWidth));
    const k1 = Math.min(last, Math.floor(t + halfWidth));
    let acc = 0;
    for (let k = k0; k <= k1; k++) acc += (input[k] as number) * kernelAt(gain * (t - k));
    out[n] = acc * gain;
  }
  return out;
}
