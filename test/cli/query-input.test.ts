// The pure parts of `plexus query` with images: which input a file goes to (from its first
// bytes), and how OCR answers read (text lines, boxes with scores, the JSON beside the tensors).
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/cli-error.ts';
import { describeOcr, formatOcr, ocrJson, type OutputValues } from '../../src/cli/ocr-format.ts';
import { pickInput, sniffFile } from '../../src/cli/query-input.ts';

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
const WAV = new Uint8Array(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt '));

describe('sniffFile and pickInput', () => {
  it('knows PNG, JPEG and WAV from their first bytes, and nothing else', () => {
    expect([PNG, JPEG, WAV].map(sniffFile)).toEqual(['png', 'jpeg', 'wav']);
    expect(sniffFile(new Uint8Array(Buffer.from('RIFF\x24\x00\x00\x00AVI LIST')))).toBeUndefined();
    expect(sniffFile(PNG.subarray(0, 7))).toBeUndefined();
    expect(sniffFile(new Uint8Array(0))).toBeUndefined();
  });

  it('sends an image to the model\'s image input, a WAV to its audio input, else to its first input', () => {
    const both = [{ name: 'audio', datatype: 'BYTES' }, { name: 'image', datatype: 'BYTES' }, { name: 'boxes', datatype: 'FP32' }];
    expect(pickInput('m', both, 'png')).toBe('image');
    expect(pickInput('m', both, 'jpeg')).toBe('image');
    expect(pickInput('m', both, 'wav')).toBe('audio');
    expect(pickInput('m', both, undefined)).toBe('audio');
    expect(pickInput('speech.vad', [{ name: 'audio', datatype: 'BYTES' }], 'png')).toBe('audio');
  });

  it('refuses a model with no input, or whose picked input is not BYTES', () => {
    expect(() => pickInput('m', [], 'png')).toThrow(new UsageError("model 'm' declares no inputs"));
    expect(() => pickInput('mlp', [{ name: 'x', datatype: 'FP32' }], 'png')).toThrow(/^model 'mlp' takes FP32 input 'x'; plexus query sends a file as a BYTES input/);
    expect(() => pickInput('m', [{ name: 'audio', datatype: 'BYTES' }, { name: 'image', datatype: 'FP32' }], 'png')).toThrow(/takes FP32 input 'image'/);
  });
});

const text = (lines: string[]): OutputValues => ({ name: 'text', datatype: 'BYTES', shape: [lines.length], data: lines });
const boxes: OutputValues = { name: 'boxes', datatype: 'FP32', shape: [2, 4, 2], data: [23.4, 33, 281, 33, 281, 63, 23, 63, 22, 93, 260, 93, 260, 123, 22, 123.6] };
const scores: OutputValues = { name: 'scores', datatype: 'FP32', shape: [2], data: [0.99781, 0.5] };

describe('OCR answers', () => {
  it('reads as its lines of text; a detection as its boxes with scores', () => {
    expect(formatOcr('ocr-read', [text(['HELLO WORLD', 'PLEXUS 2026']), boxes, scores])).toEqual(['HELLO WORLD', 'PLEXUS 2026']);
    expect(formatOcr('ocr-read', [text([]), { ...boxes, shape: [0, 4, 2], data: [] }, { ...scores, shape: [0], data: [] }])).toEqual(['ocr-read: no text']);
    expect(formatOcr('ocr-detect', [boxes, scores])).toEqual([
      'ocr-detect: 2 text box(es)',
      'box 1  score 0.998  (23,33) (281,33) (281,63) (23,63)',
      'box 2  score 0.500  (22,93) (260,93) (260,123) (22,124)',
    ]);
    expect(formatOcr('silero-vad-segments', [{ name: 'segments', datatype: 'FP32', shape: [1, 2], data: [0.1, 0.2] }])).toBeUndefined();
  });

  it('describes a directory\'s file in one line, and adds text and boxes to the JSON', () => {
    expect(describeOcr([text(['A', 'B']), boxes, scores])).toBe('2 line(s): A | B');
    expect(describeOcr([text([])])).toBe('no text');
    expect(describeOcr([boxes, scores])).toBe('2 text box(es)');
    expect(describeOcr([scores])).toBeUndefined();
    expect(ocrJson([text(['A']), { ...boxes, shape: [1, 4, 2], data: [1, 2, 3, 4, 5, 6, 7, 8] }, { ...scores, shape: [1], data: [0.5] }]))
      .toEqual({ text: ['A'], boxes: [{ corners: [[1, 2], [3, 4], [5, 6], [7, 8]], score: 0.5 }] });
    expect(ocrJson([scores])).toEqual({});
  });
});
