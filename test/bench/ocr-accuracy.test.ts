// The OCR bench's pure parts: accuracy metrics, the seeded image set, plexus.steps parsing.
import { describe, expect, it } from 'vitest';
import { accuracy, editDistance, joinLines, ocrErrors, wordsFoundInOrder } from '../../bench/ocr/accuracy.ts';
import { convertArgs, OCR_FONTS, OCR_POINT_SIZES, ocrImageSet, seededRandom } from '../../bench/ocr/image-set.ts';
import { parseSteps, tallySteps, type StepTally } from '../../bench/ocr/steps.ts';

describe('OCR accuracy metrics', () => {
  it('edit distance counts insertions, deletions and substitutions', () => {
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(editDistance([...''], [...'abc'])).toBe(3);
    expect(editDistance([...'abc'], [...''])).toBe(3);
    expect(editDistance([...'same'], [...'same'])).toBe(0);
    expect(editDistance(['a', 'b', 'c'], ['a', 'c'])).toBe(1);
  });

  it('joins lines with one space and collapses whitespace', () => {
    expect(joinLines(['  HELLO  WORLD ', 'PLEXUS 2026'])).toBe('HELLO WORLD PLEXUS 2026');
    expect(joinLines([])).toBe('');
  });

  it('a reading that drops the spaces loses characters and words, not the no-space characters', () => {
    const e = ocrErrors(['HELLO WORLD', 'PLEXUS 2026'], ['HELLOWORLD', 'PLEXUS2026']);
    expect(e).toEqual({ chars: 23, charEdits: 2, charsNoSpace: 20, charEditsNoSpace: 0, words: 4, wordEdits: 4, wordsFound: 4 });
    const a = accuracy([e]);
    expect(a.charAccuracy).toBeCloseTo(1 - 2 / 23, 12);
    expect(a.charAccuracyNoSpaces).toBe(1);
    expect(a.wordAccuracy).toBe(0);
    expect(a.wordsFound).toBe(1);
    expect(a.exactImages).toBe(0);
  });

  it('a wrong letter costs one character and one word; case counts', () => {
    const e = ocrErrors(['Total 12.50'], ['TotaI 12.50']);
    expect(e.charEdits).toBe(1);
    expect(e.wordEdits).toBe(1);
    expect(e.wordsFound).toBe(1);
    expect(ocrErrors(['Paris'], ['PARIS']).charEdits).toBe(4);
  });

  it('a missing line counts every character of it; extra text counts too', () => {
    expect(ocrErrors(['one two', 'three'], ['one two']).charEdits).toBe(6);
    expect(ocrErrors(['one'], ['one', 'noise']).charEdits).toBe(6);
    expect(accuracy([ocrErrors(['ab'], ['xxxxxxxx'])]).charAccuracy).toBe(0); // floored, never negative
  });

  it('finds reference words in order in the squashed text, each match once', () => {
    expect(wordsFoundInOrder(['dog', 'fox'], 'dogfox')).toBe(2);
    expect(wordsFoundInOrder(['fox', 'dog'], 'dog fox')).toBe(1);
    expect(wordsFoundInOrder(['route', 'route'], 'route')).toBe(1);
    expect(wordsFoundInOrder(['a', 'b'], '')).toBe(0);
  });

  it('aggregates over images by totals (micro average), not by mean of ratios', () => {
    const long = ocrErrors(['abcdefghij'], ['abcdefghij']);
    const short = ocrErrors(['ab'], ['xx']);
    const a = accuracy([long, short]);
    expect(a.charAccuracy).toBeCloseTo(1 - 2 / 12, 12);
    expect(a.images).toBe(2);
    expect(a.exactImages).toBe(1);
    expect(accuracy([]).charAccuracy).toBe(1);
  });
});

describe('OCR bench image set', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(ocrImageSet(10, 5)).toEqual(ocrImageSet(10, 5));
    expect(ocrImageSet(10, 5)).not.toEqual(ocrImageSet(10, 6));
    const r = seededRandom(1);
    const xs = Array.from({ length: 1000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('uses every face and size, 1–4 lines, rotations of 2–5° either way and some noise', () => {
    const set = ocrImageSet(32, 12);
    expect(new Set(set.map((s) => s.font))).toEqual(new Set(OCR_FONTS));
    expect(new Set(set.map((s) => s.pointSize))).toEqual(new Set(OCR_POINT_SIZES));
    for (const s of set) {
      expect(s.lines.length).toBeGreaterThanOrEqual(1);
      expect(s.lines.length).toBeLessThanOrEqual(4);
      if (s.rotate !== 0) expect(Math.abs(s.rotate)).toBeGreaterThanOrEqual(2);
      expect(Math.abs(s.rotate)).toBeLessThanOrEqual(5);
      for (const l of s.lines) expect(l).toMatch(/^[A-Za-z0-9.]+( [A-Za-z0-9.]+)+$/);
    }
    const rotated = set.filter((s) => s.rotate !== 0).length;
    const noisy = set.filter((s) => s.noise > 0).length;
    expect(rotated).toBeGreaterThan(4);
    expect(rotated).toBeLessThan(28);
    expect(noisy).toBeGreaterThan(4);
    expect(noisy).toBeLessThan(28);
  });

  it('turns a spec into ImageMagick arguments: font file, one -annotate per line, rotation, seeded noise', () => {
    const spec = { id: 'x', font: 'DejaVuSerif.ttf', pointSize: 20, lines: ['a b', 'c d'], rotate: -3, noise: 0.8, noiseSeed: 7 };
    const args = convertArgs(spec, '/fonts');
    expect(args).toContain('/fonts/DejaVuSerif.ttf');
    expect(args.filter((a) => a === '-annotate')).toHaveLength(2);
    expect(args.join(' ')).toContain('-rotate -3 +repage');
    expect(args.join(' ')).toContain('-seed 7 -attenuate 0.8 +noise Gaussian');
    const plain = convertArgs({ ...spec, rotate: 0, noise: 0 }, '/fonts');
    expect(plain).not.toContain('-rotate');
    expect(plain).not.toContain('+noise');
  });
});

describe('plexus.steps', () => {
  const value = JSON.stringify([
    { capability: 'ocr.detect', served_by: 'X', route: 'P,X', ms: 80, cost: 0 },
    { capability: 'ocr.recognize', served_by: 'Y', route: 'P,Y', ms: 200, cost: 1 },
    { capability: 'ocr.recognize', served_by: 'Y2', route: 'P,Y2', ms: 150, cost: 1 },
  ]);

  it('parses the documented fields; absent means no steps', () => {
    const steps = parseSteps(value);
    expect(steps).toHaveLength(3);
    expect(steps[1]).toEqual({ capability: 'ocr.recognize', servedBy: 'Y', route: 'P,Y', ms: 200, cost: 1 });
    expect(parseSteps(undefined)).toEqual([]);
    expect(parseSteps('')).toEqual([]);
  });

  it('refuses a value that is not an array of step objects', () => {
    expect(() => parseSteps('{"capability":"x"}')).toThrow(/JSON array/);
    expect(() => parseSteps('[{"ms":1}]')).toThrow(/capability/);
    expect(() => parseSteps('[3]')).toThrow(/object/);
    expect(() => parseSteps('not json')).toThrow();
  });

  it('tallies calls per capability: every ms, calls per query, who served', () => {
    const t = new Map<string, StepTally>();
    tallySteps(t, parseSteps(value));
    tallySteps(t, parseSteps(value));
    const rec = t.get('ocr.recognize');
    expect(rec?.ms).toEqual([200, 150, 200, 150]);
    expect(rec?.callsPerQuery).toEqual([2, 2]);
    expect(rec?.servedBy).toEqual(new Map([['Y', 2], ['Y2', 2]]));
    expect(t.get('ocr.detect')?.callsPerQuery).toEqual([1, 1]);
  });
});
