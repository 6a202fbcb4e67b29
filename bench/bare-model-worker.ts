// bare-servers.ts's model worker: one silero-vad session, as the bench's in-process ORT runs it;
// each message is one run on fixed feeds (the request's bytes arrive but are not parsed: that is
// a node's work, not the floor's), answered with the outputs' bytes, transferred.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { SILERO_SESSION_OPTIONS, sileroAnswerBytes, sileroFeeds, sileroModelPath } from './models/silero.ts';

const port = parentPort;
if (port === null) throw new Error('bare-model-worker.ts runs as a worker thread');
const session = await ort.InferenceSession.create(sileroModelPath(), SILERO_SESSION_OPTIONS);
const feeds = sileroFeeds();

port.on('message', (m: { id: number }) => {
  session.run(feeds).then((out) => {
    const answer = sileroAnswerBytes(out);
    port.postMessage({ id: m.id, answer: answer.buffer }, [answer.buffer]);
  }, (e: unknown) => { port.postMessage({ id: m.id, error: String(e) }); });
});
port.postMessage('ready');
