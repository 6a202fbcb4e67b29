// Which input of a model `plexus query` sends a file as: picked from the file's type (its first
// bytes, not its name): a PNG or JPEG goes to the model's `image` input, a WAV to its `audio`
// input, when the model has one; anything else (or a model without that input) to its first
// input. The input must be BYTES: the file is sent as one element, shape [1].
import { UsageError } from './cli-error.ts';

export type FileKind = 'png' | 'jpeg' | 'wav';

/** The input name each known file type goes to. */
export const INPUT_FOR_KIND: Readonly<Record<FileKind, string>> = { png: 'image', jpeg: 'image', wav: 'audio' };

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);

/** The file's type from its magic bytes; undefined when it is none of the known ones. */
export function sniffFile(bytes: Uint8Array): FileKind | undefined {
  if (startsWith(bytes, PNG_MAGIC)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  // RIFF....WAVE (RIFX and RF64 too: the node says what it makes of them).
  if ((startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) || startsWith(bytes, [0x52, 0x49, 0x46, 0x58]) || startsWith(bytes, [0x52, 0x46, 0x36, 0x34]))
    && startsWith(bytes, [0x57, 0x41, 0x56, 0x45], 8)) return 'wav';
  return undefined;
}

export interface InputInfo { readonly name: string; readonly datatype: string }

/**
 * The input a file of `kind` is sent as: the one named for its type when the model has it,
 * else the model's first. UsageError when the model has no input or that input is not BYTES.
 */
export function pickInput(model: string, inputs: readonly InputInfo[], kind: FileKind | undefined): string {
  const named = kind === undefined ? undefined : inputs.find((i) => i.name === INPUT_FOR_KIND[kind]);
  const input = named ?? inputs[0];
  if (input === undefined) throw new UsageError(`model '${model}' declares no inputs`);
  if (input.datatype !== 'BYTES') {
    throw new UsageError(`model '${model}' takes ${input.datatype} input '${input.name}'; plexus query sends a file as a BYTES input (try a capability such as speech.vad or ocr.read)`);
  }
  return input.name;
}
