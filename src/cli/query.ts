// `plexus query`: send a file's bytes as the BYTES input of a model (typically a capability
// adapter such as speech.vad) and print the answer.
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXIT_OK, UsageError } from './cli-error.ts';
import { AUTH_HELP, AUTH_OPTIONS, clientAuth } from './connect-auth.ts';
import { connect, unary } from './client.ts';
import { formatOutputs, formatRoute, formatTrace, plainOutputs, plainParams, segmentsOf, type WireInferResponse } from './format.ts';
import { formatSteps } from './format-steps.ts';
import { parseTimeout } from './node-info.ts';
import { ocrJson } from './ocr-format.ts';
import { pickInput, sniffFile } from './query-input.ts';
import type { WireModelMetadataResponse } from '../wire/messages.ts';
import { PARAM } from '../wire/params.ts';

export const QUERY_HELP = `Usage: plexus query --target HOST:PORT --model NAME --input FILE|DIR [--concurrency N] [--json] [--verify] [--timeout-ms N]

Send FILE's bytes as a BYTES input of model or capability NAME and print the result.
The input is picked from the file's type: a PNG or JPEG goes to the model's 'image'
input, a WAV to its 'audio' input, anything else to its first input. Speech segments
print as "speech 1.02s – 2.85s"; OCR text (ocr.read) as its lines, one per line;
ocr.detect as its boxes with their scores; --json adds "text" and "boxes" to the tensors.

With a directory, send every file in it (not recursive, dotfiles skipped), N at a time:
one line per file, then a summary (files, failures by status, p50/p99 latency of the
answered queries, peers that served them). Progress goes to stderr (a bar on a terminal).
--json prints one JSON line per file, then {"summary":{...}}. Exit status 1 when any
file failed, 0 when all were answered.

Options:
  --target HOST:PORT   the node's gRPC address (required)
  --model NAME         model or capability name, e.g. speech.vad (required)
  --input FILE|DIR     file to send, e.g. a WAV or PNG file, or a directory of them (required)
  --concurrency N      with a directory: queries in flight at once (default 4)
  --json               print the result as one JSON line
  --verify             have the node cross-check the answer (plexus.verify=true); the
                       output says who verified it
  --timeout-ms N       deadline for the query, or each file's (default 30000)
${AUTH_HELP}  -h, --help           show this help
`;

export async function runQuery(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      target: { type: 'string' },
      model: { type: 'string' },
      input: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      verify: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '30000' },
      help: { type: 'boolean', short: 'h', default: false },
      ...AUTH_OPTIONS,
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(QUERY_HELP);
    return EXIT_OK;
  }
  for (const required of ['target', 'model', 'input'] as const) {
    if (values[required] === undefined) throw new UsageError(`--${required} is required (see plexus query --help)`);
  }
  const { target = '', model = '', input = '' } = values;
  const timeoutMs = parseTimeout(values['timeout-ms']);
  const info = await stat(input).catch((e: unknown) => {
    throw new UsageError(`--input: cannot read '${input}': ${(e as Error).message}`);
  });
  if (values.verify && info.isDirectory()) throw new UsageError('--verify applies only to a single --input file');
  if (info.isDirectory()) {
    const { parseConcurrency, runQueryDir } = await import('./query-dir.ts');
    const concurrency = parseConcurrency(values.concurrency ?? '4');
    return runQueryDir({ target, model, dir: input, concurrency, timeoutMs, json: values.json, auth: clientAuth(values) });
  }
  if (values.concurrency !== undefined) throw new UsageError('--concurrency applies only when --input is a directory');
  const bytes = await readFile(input).catch((e: unknown) => {
    throw new UsageError(`--input: cannot read '${input}': ${(e as Error).message}`);
  });

  const deadline = Date.now() + timeoutMs;
  const clients = connect(target, clientAuth(values));
  try {
    const meta = await unary<object, WireModelMetadataResponse>(clients.inference, 'ModelMetadata', { name: model }, timeoutMs);
    const inputName = pickInput(model, meta.inputs, sniffFile(bytes));
    const request = {
      model_name: model,
      inputs: [{ name: inputName, datatype: 'BYTES', shape: [1], contents: { bytes_contents: [bytes] } }],
      ...(values.verify ? { parameters: { [PARAM.verify]: { bool_param: true } } } : {}),
    };
    const response = await unary<object, WireInferResponse>(clients.inference, 'ModelInfer', request, Math.max(1, deadline - Date.now()));
    const outputs = plainOutputs(response);
    const parameters = plainParams(response);
    if (values.json) {
      const segments = outputs.map(segmentsOf).find((s) => s !== undefined);
      const result = {
        model: response.model_name, version: response.model_version, outputs, parameters,
        ...(segments ? { segments: segments.map(([start, end]) => ({ start: ms(start), end: ms(end) })) } : {}),
        ...ocrJson(outputs),
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(formatOutputs(response.model_name, outputs) + formatRoute(parameters) + formatSteps(parameters) + formatTrace(parameters));
    }
    return EXIT_OK;
  } finally {
    clients.close();
  }
}

/** Seconds rounded to the millisecond: FP32 noise helps nobody reading JSON. */
function ms(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
