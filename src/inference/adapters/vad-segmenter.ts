// Turns per-window speech probabilities into speech segments, following silero-vad's
// get_speech_timestamps (v5): hysteresis between threshold and threshold-0.15, a minimum
// silence before a segment ends, a minimum speech length, then padding that splits short gaps.
// Fed one probability at a time, so it works for streaming and batched stepping alike.

export interface SegmenterOptions {
  readonly sampleRate: number;
  readonly windowSamples: number;
  readonly threshold: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly speechPadMs: number;
}

export interface SampleSegment {
  start: number;
  end: number;
}

export interface VadSegmenter {
  /** Probability for window i (windows arrive in order). */
  push(prob: number): void;
  /** Close open speech and apply padding; `totalSamples` is the unpadded audio length. */
  finish(totalSamples: number): SampleSegment[];
}

export function createVadSegmenter(o: SegmenterOptions): VadSegmenter {
  const minSpeech = (o.sampleRate * o.minSpeechMs) / 1000;
  const minSilence = (o.sampleRate * o.minSilenceMs) / 1000;
  const pad = Math.floor((o.sampleRate * o.speechPadMs) / 1000);
  const negThreshold = Math.max(o.threshold - 0.15, 0.01);
  const speeches: SampleSegment[] = [];
  let triggered = false;
  let start = 0;
  let tempEnd = 0;
  let i = 0;

  function push(prob: number): void {
    const pos = o.windowSamples * i++;
    if (prob >= o.threshold && tempEnd !== 0) tempEnd = 0;
    if (prob >= o.threshold && !triggered) {
      triggered = true;
      start = pos;
      return;
    }
    if (prob < negThreshold && triggered) {
      if (tempEnd === 0) tempEnd = pos;
      if (pos - tempEnd < minSilence) return;
      if (tempEnd - start > minSpeech) speeches.push({ start, end: tempEnd });
      tempEnd = 0;
      triggered = false;
    }
  }

  function finish(total: number): SampleSegment[] {
    if (triggered && total - start > minSpeech) speeches.push({ start, end: total });
    triggered = false;
    const out = speeches.map((s) => ({ ...s }));
    out.forEach((s, k) => {
      if (k === 0) s.start = Math.max(0, s.start - pad);
      const next = out[k + 1];
      if (next !== undefined) {
        const gap = next.start - s.end;
        if (gap < 2 * pad) {
          s.end += Math.floor(gap / 2);
          next.start = Math.max(0, next.start - Math.floor(gap / 2));
        } else {
          s.end = Math.min(total, s.end + pad);
          next.start = Math.max(0, next.start - pad);
        }
      } else {
        s.end = Math.min(total, s.end + pad);
      }
    });
    return out;
  }

  return { push, finish };
}
