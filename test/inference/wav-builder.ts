// Builds WAV files byte by byte for tests: any format, extra and odd-sized chunks.
export interface WavBuild {
  readonly sampleRate: number;
  readonly channels: number;
  readonly bits: number;
  readonly float?: boolean;
  readonly extensible?: boolean;
  /** Interleaved samples in [-1, 1]. */
  readonly samples: ArrayLike<number>;
  /** Extra chunks written before 'fmt ' and between 'fmt ' and 'data'. */
  readonly before?: readonly { id: string; body: Uint8Array }[];
  readonly between?: readonly { id: string; body: Uint8Array }[];
}

function chunk(id: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length % 2));
  out.set(new TextEncoder().encode(id), 0);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

export function buildWav(b: WavBuild): Uint8Array {
  const bytes = b.bits / 8;
  const fmt = new Uint8Array(b.extensible === true ? 40 : 16);
  const f = new DataView(fmt.buffer);
  const code = b.float === true ? 3 : 1;
  f.setUint16(0, b.extensible === true ? 0xfffe : code, true);
  f.setUint16(2, b.channels, true);
  f.setUint32(4, b.sampleRate, true);
  f.setUint32(8, b.sampleRate * b.channels * bytes, true);
  f.setUint16(12, b.channels * bytes, true);
  f.setUint16(14, b.bits, true);
  if (b.extensible === true) {
    f.setUint16(16, 22, true);
    f.setUint16(18, b.bits, true);
    f.setUint32(20, b.channels === 1 ? 4 : 3, true);
    f.setUint16(24, code, true);
    fmt.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  const data = new Uint8Array(b.samples.length * bytes);
  const d = new DataView(data.buffer);
  for (let i = 0; i < b.samples.length; i++) {
    const v = b.samples[i] ?? 0;
    const p = i * bytes;
    if (b.float === true) {
      if (b.bits === 32) d.setFloat32(p, v, true); else d.setFloat64(p, v, true);
    } else if (b.bits === 8) d.setUint8(p, Math.round(v * 127) + 128);
    else if (b.bits === 16) d.setInt16(p, Math.round(v * 32767), true);
    else if (b.bits === 24) {
      const x = Math.round(v * 8388607);
      d.setUint8(p, x & 0xff); d.setUint8(p + 1, (x >> 8) & 0xff); d.setInt8(p + 2, x >> 16);
    } else d.setInt32(p, Math.round(v * 2147483647), true);
  }
  const parts = [
    ...(b.before ?? []).map((c) => chunk(c.id, c.body)),
    chunk('fmt ', fmt),
    ...(b.between ?? []).map((c) => chunk(c.id, c.body)),
    chunk('data', data),
  ];
  const total = 4 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(8 + total);
  out.set(new TextEncoder().encode('RIFF'), 0);
  new DataView(out.buffer).setUint32(4, total, true);
  out.set(new TextEncoder().encode('WAVE'), 8);
  let off = 12;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

export function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}
