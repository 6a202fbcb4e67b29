// A model worker thread: holds ONNX Runtime sessions and runs them, decodes audio, and does the
// OCR adapters' image work (ocr-work.ts), so none of that work runs on the node's event loop.
// Audio decoding yields to this thread's own event loop between chunks, so session runs
// interleave with a long decode, and checks the request's deadline and cancellation there.
import { parentPort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { InferenceFailedError } from '../../errors.ts';
import { checkLive } from '../model-host.ts';
import { decodeWavMonoSteps } from '../wav.ts';
import { packTensor, type WireError, type WorkerReply, type WorkerRequest } from './protocol.ts';

const port = parentPort;
if (port === null) throw new Error('ort-worker.ts runs as a worker thread');

const sessions = new Map<number, InferenceSession>();
const cancelled = new Set<number>();
const MAX_CANCELLED = 10_000;

// ONNX Runtime is loaded with the first session: the decode worker never maps it.
let ortSession: Promise<typeof import('../ort-session.ts')> | undefined;
const ort = (): Promise<typeof import('../ort-session.ts')> => (ortSession ??= import('../ort-session.ts'));

// The OCR tasks (and sharp with them) are loaded with the first one: model workers never map them.
let ocrWork: Promise<typeof import('../adapters/ocr/ocr-work.ts')> | undefined;
const ocr = (): Promise<typeof import('../adapters/ocr/ocr-work.ts')> => (ocrWork ??= import('../adapters/ocr/ocr-work.ts'));

const nextTurn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

function session(id: number): InferenceSession {
  const s = sessions.get(id);
  if (s === undefined) throw new InferenceFailedError(`model worker has no session ${id}`);
  return s;
}

async function decode(m: Extract<WorkerRequest, { op: 'decode' }>): Promise<Float32Array> {
  const check = (): void => checkLive('audio decoding', m.deadline, () => cancelled.has(m.id));
  check();
  const steps = decodeWavMonoSteps(m.wav, m.targetRate, m.limits);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    await nextTurn();
    check();
  }
}

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  try {
    port?.postMessage(reply, transfer);
  } catch {
    port?.postMessage(reply); // a buffer ORT will not let go of: sent as a copy
  }
}

function wireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'InferenceFailedError', message: String(e) };
  return { name: e.name, message: e.message, ...(e.cause instanceof Error ? { cause: e.cause.message } : {}) };
}

async function handle(m: WorkerRequest): Promise<void> {
  if (m.op === 'cancel') {
    if (cancelled.size >= MAX_CANCELLED) cancelled.clear();
    cancelled.add(m.id);
    return;
  }
  try {
    switch (m.op) {
      case 'load': {
        const { openSession, valueMetas } = await ort();
        const { session: s, provider, fallback } = await openSession(m.spec);
        sessions.set(m.session, s);
        post({ id: m.id, ok: true, value: { provider, inputs: valueMetas(s.inputMetadata), outputs: valueMetas(s.outputMetadata), ...(fallback !== undefined ? { fallback } : {}) } });
        return;
      }
      case 'run': {
        // Runs handed over ahead (inference.runAhead) may have outlived their request here.
        checkLive(`a run of model '${m.model}'`, m.deadline, () => cancelled.has(m.id));
        const { outputs, ms } = await (await ort()).runSession(session(m.session), m.model, m.feeds, m.fetches);
        const transfer: ArrayBuffer[] = [];
        post({ id: m.id, ok: true, value: { outputs: outputs.map((t) => packTensor(t, true, transfer)), ms } }, transfer);
        return;
      }
      case 'release': {
        const s = sessions.get(m.session);
        sessions.delete(m.session);
        await s?.release();
        post({ id: m.id, ok: true, value: null });
        return;
      }
      case 'ocr': {
        const { runOcrTask, ocrResultTransferables } = await ocr();
        const value = await runOcrTask(m.task, true);
        const transfer = ocrResultTransferables(value).map((a) => a.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        post({ id: m.id, ok: true, value }, transfer);
        return;
      }
      case 'decode': {
        const samples = await decode(m);
        post({ id: m.id, ok: true, value: samples }, samples.byteLength === samples.buffer.byteLength ? [samples.buffer as ArrayBuffer] : []);
        return;
      }
    }
  } catch (e) {
    post({ id: m.id, ok: false, error: wireError(e) });
  } finally {
    cancelled.delete(m.id);
  }
}

port.on('message', (m: WorkerRequest) => { void handle(m); });
