// Capability `speech.vad`: a WAV file in, speech segments (start/end seconds) out, computed by
// the raw Silero VAD v5 model. Each request is a stepper (its audio, carried LSTM state and
// 64-sample context, as silero's OnnxWrapper keeps them); stepBatch runs the current window of
// one or more steppers as one ORT call with batch = number of steppers, so a batching layer can
// merge concurrent requests step by step. Unbatched, a request holds one slot of the raw model's
// limiter (its queue and concurrency limit) for all of its steps; with `batching`, a step group
// (vad-step-group.ts) holds one slot and steps every concurrent request together.
import { CancelledError, ConfigError, DeadlineExceededError, InferenceFailedError, InvalidInputError } from '../../errors.ts';
import type { AdapterModelSpec, SileroAdapterSpec } from '../config.ts';
import { createEwma } from '../ewma.ts';
import { applyFault } from '../fault.ts';
import { batchingStats, type HostedModel } from '../hosted-model.ts';
import type { OrtModel, OrtModelHooks } from '../ort-model.ts';
import type { AcquireOptions } from '../run-limiter.ts';
import type { RunOptions } from '../run-phases.ts';
import type { ModelInfo, Tensor, TensorSpec } from '../types.ts';
import { giveAway } from '../model-host.ts';
import { createVadSegmenter, type SegmenterOptions, type VadSegmenter } from './vad-segmenter.ts';
import { createVadStepGroup, type VadStepGroup } from './vad-step-group.ts';

export const VAD_SAMPLE_RATE = 16_000;
export const VAD_WINDOW = 512;
export const VAD_CONTEXT = 64;
const STATE_SIZE = 2 * 128; // state [2, batch, 128], per batch item

export const SILERO_ADAPTER_INPUTS: readonly TensorSpec[] = [{ name: 'audio', datatype: 'BYTES', shape: [1] }];
export const SILERO_ADAPTER_OUTPUTS: readonly TensorSpec[] = [{ name: 'segments', datatype: 'FP32', shape: [-1, 2] }];

/** One request's walk over its audio, window by window. */
export interface VadStepper {
  readonly done: boolean;
  /** 64 samples of context followed by the next 512 (zero-padded at the end of the audio). */
  window(): Float32Array;
  /** This request's recurrent state, [2, 1, 128] flattened. */
  readonly state: Float32Array;
  /** Record the model's output for the current window and advance. */
  advance(prob: number, nextState: Float32Array): void;
  /** Segments in seconds, as [start0, end0, start1, end1, ...]. */
  segments(): Float32Array;
}

export function createVadStepper(audio: Float32Array, opts: Omit<SegmenterOptions, 'sampleRate' | 'windowSamples'>): VadStepper {
  const segmenter: VadSegmenter = createVadSegmenter({ ...opts, sampleRate: VAD_SAMPLE_RATE, windowSamples: VAD_WINDOW });
  const buf = new Float32Array(VAD_CONTEXT + VAD_WINDOW); // context zeros at the start
  let state: Float32Array = new Float32Array(STATE_SIZE);
  let pos = 0;
  return {
    get done() { return pos >= audio.length; },
    get state() { return state; },
    window() {
      const chunk = audio.subarray(pos, Math.min(audio.length, pos + VAD_WINDOW));
      buf.fill(0, VAD_CONTEXT);
      buf.set(chunk, VAD_CONTEXT);
      return buf;
    },
    advance(prob, nextState) {
      segmenter.push(prob);
      state = nextState;
      buf.copyWithin(0, VAD_WINDOW); // the last 64 samples become the next window's context
      pos += VAD_WINDOW;
    },
    segments() {
      const segs = segmenter.finish(audio.length);
      const out = new Float32Array(segs.length * 2);
      segs.forEach((s, k) => {
        out[2 * k] = s.start / VAD_SAMPLE_RATE;
        out[2 * k + 1] = s.end / VAD_SAMPLE_RATE;
      });
      return out;
    },
  };
}

const SR_TENSOR: Tensor = { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([BigInt(VAD_SAMPLE_RATE)]) };

/** Run the current window of every stepper as one batch on a slot the caller holds. */
export async function stepBatch(raw: OrtModel, steppers: readonly VadStepper[]): Promise<void> {
  const b = steppers.length;
  const width = VAD_CONTEXT + VAD_WINDOW;
  // Built for this step only: a worker host may move them to its thread instead of copying.
  const input = giveAway(new Float32Array(b * width));
  const state = giveAway(new Float32Array(b * STATE_SIZE));
  steppers.forEach((s, k) => {
    input.set(s.window(), k * width);
    // [2, b, 128]: layer l of item k lives at (l * b + k) * 128.
    for (let l = 0; l < 2; l++) state.set(s.state.subarray(l * 128, (l + 1) * 128), (l * b + k) * 128);
  });
  const [probs, stateN] = await raw.runHeld([
    { name: 'input', datatype: 'FP32', shape: [b, width], data: input },
    { name: 'state', datatype: 'FP32', shape: [2, b, 128], data: state },
    SR_TENSOR,
  ], ['output', 'stateN']);
  if (probs === undefined || stateN === undefined || !(probs.data instanceof Float32Array) || !(stateN.data instanceof Float32Array)
    || probs.data.length !== b || stateN.data.length !== b * STATE_SIZE) {
    throw new InferenceFailedError(`model '${raw.spec.name}' returned unexpected VAD outputs for batch ${b}`);
  }
  const out = stateN.data;
  steppers.forEach((s, k) => {
    const next = new Float32Array(STATE_SIZE);
    for (let l = 0; l < 2; l++) next.set(out.subarray((l * b + k) * 128, (l * b + k + 1) * 128), l * 128);
    s.advance(probs.data[k] as number, next);
  });
}

function checkRawSignature(spec: SileroAdapterModelSpec, raw: OrtModel): void {
  const has = (name: string, datatype: string): boolean => raw.inputs.some((i) => i.name === name && i.datatype === datatype);
  const ok = has('input', 'FP32') && has('state', 'FP32') && has('sr', 'INT64')
    && raw.outputs.some((o) => o.name === 'output') && raw.outputs.some((o) => o.name === 'stateN');
  if (!ok) {
    throw new ConfigError(`models: adapter '${spec.name}' needs a Silero VAD v5 model (inputs input/state/sr, outputs output/stateN); '${raw.spec.name}' has inputs ${raw.inputs.map((i) => i.name).join(', ')}`);
  }
}

type SileroAdapterModelSpec = AdapterModelSpec & { readonly adapter: SileroAdapterSpec };

const CHECK_EVERY = 32; // steps between deadline/cancellation checks

export function createSileroVadAdapter(spec: SileroAdapterModelSpec, raw: OrtModel, hooks: OrtModelHooks = {}): HostedModel {
  checkRawSignature(spec, raw);
  const compute = createEwma(0.2);
  const info: ModelInfo = {
    name: spec.name, version: spec.version, platform: 'plexus_adapter', capabilities: spec.capabilities,
    inputs: SILERO_ADAPTER_INPUTS, outputs: SILERO_ADAPTER_OUTPUTS,
    requestedProvider: raw.spec.provider, provider: raw.provider, price: spec.price, ready: true,
  };
  const { threshold, minSpeechMs, minSilenceMs, speechPadMs } = spec.adapter;
  const group: VadStepGroup<VadStepper> | undefined = spec.batching === undefined ? undefined : createVadStepGroup({
    name: spec.name, raw, batching: spec.batching, maxQueue: raw.limiter.maxQueue, fault: spec.fault, step: stepBatch,
    ...(hooks.onBatch !== undefined ? { onBatch: hooks.onBatch } : {}),
  });

  /** One request alone on its own slot, step after step; returns the ms it stepped. */
  async function runAlone(stepper: VadStepper, opts: AcquireOptions): Promise<number> {
    const q0 = opts.trace && performance.now();
    const release = await raw.limiter.acquire(opts);
    try {
      // The adapter's own fault, applied on the slot so a delayed adapter keeps its model busy.
      // Timed from before the fault, so an injected delay shows in the advertised compute time.
      const started = performance.now();
      await applyFault(spec.name, spec.fault, opts);
      let step = 0;
      for (; !stepper.done; step++) {
        if (step % CHECK_EVERY === 0) {
          if (opts.signal?.aborted === true) throw new CancelledError(`request to '${spec.name}' was cancelled`);
          if (opts.deadline !== undefined && Date.now() >= opts.deadline) throw new DeadlineExceededError(`deadline passed while '${spec.name}' was running`);
        }
        await stepBatch(raw, [stepper]);
      }
      const ended = performance.now();
      if (q0 !== undefined) {
        opts.trace?.phase('plexus.queue_wait', q0, started, { 'plexus.model': raw.spec.name });
        opts.trace?.phase('plexus.compute', started, ended, { 'plexus.model': raw.spec.name, 'plexus.steps': step });
      }
      return ended - started;
    } finally {
      release();
    }
  }

  async function run(inputs: readonly Tensor[], _outputs: readonly string[], opts: RunOptions): Promise<Tensor[]> {
    const { phases } = opts;
    const i0 = phases && performance.now();
    const audioTensor = inputs.find((t) => t.name === 'audio');
    const wav = audioTensor !== undefined && Array.isArray(audioTensor.data) ? audioTensor.data[0] : undefined;
    if (wav === undefined) throw new InvalidInputError(`input 'audio': expected one BYTES element holding a WAV file`);
    // Decoded where the model runs (a worker thread), within the audio limits and the deadline.
    const audio = await raw.host.decodeAudio(wav, VAD_SAMPLE_RATE, opts);
    const stepper = createVadStepper(audio, { threshold, minSpeechMs, minSilenceMs, speechPadMs });
    const o0 = phases && performance.now();
    const ms = group === undefined ? await runAlone(stepper, opts) : await group.run(stepper, opts);
    compute.add(ms);
    const out0 = phases && performance.now();
    const segs = stepper.segments();
    const answer: Tensor[] = [{ name: 'segments', datatype: 'FP32', shape: [segs.length / 2, 2], data: segs }];
    if (phases !== undefined && i0 !== undefined && o0 !== undefined && out0 !== undefined) {
      phases.inputMs += o0 - i0;
      phases.executeMs = ms;
      phases.outputMs += performance.now() - out0;
    }
    return answer;
  }

  return {
    info, run,
    stats: () => ({
      name: spec.name, computeMs: compute.value, inFlight: raw.limiter.inFlight,
      // The group's own slot waiter stands for requests already counted as waiting.
      queued: group === undefined ? raw.limiter.queued : raw.limiter.queued + group.waiting - group.waitingForSlot,
      maxConcurrent: raw.limiter.maxConcurrent, maxQueue: raw.limiter.maxQueue, ...batchingStats(group?.stats()),
    }),
    // The raw model owns the session and the limiter; it drains them.
    close: () => {
      group?.close();
      return Promise.resolve();
    },
  };
}
