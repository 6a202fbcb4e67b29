// OCR accuracy against known text: character accuracy (1 − edit distance / reference length,
// also with every space removed, since the Chinese+Latin PP-OCRv4 recogniser rarely emits the
// space between Latin words) and word accuracy (1 − word error rate over whitespace-separated
// words, plus the share of reference words found in order in the text with spaces removed).
// Pure code: the bench scenario feeds it, the unit tests check it.

/** Levenshtein distance (insertions, deletions, substitutions cost 1) between two sequences. */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Lines joined by one space, runs of whitespace collapsed, trimmed. */
export function joinLines(lines: readonly string[]): string {
  return lines.join(' ').replace(/\s+/g, ' ').trim();
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w.length > 0);
const noSpaces = (s: string): string => s.replace(/\s+/g, '');

/**
 * How many reference words occur, in order, in `hyp` with its spaces removed: each word is
 * searched from where the previous match ended, so merged words still count and a word read
 * twice does not count twice.
 */
export function wordsFoundInOrder(refWords: readonly string[], hyp: string): number {
  const h = noSpaces(hyp);
  let at = 0;
  let found = 0;
  for (const w of refWords) {
    const i = h.indexOf(w, at);
    if (i < 0) continue;
    found++;
    at = i + w.length;
  }
  return found;
}

/** Error counts of one image: summed over images, they give the set's accuracies. */
export interface OcrErrors {
  readonly chars: number;
  readonly charEdits: number;
  readonly charsNoSpace: number;
  readonly charEditsNoSpace: number;
  readonly words: number;
  readonly wordEdits: number;
  readonly wordsFound: number;
}

/** Compares the recognised lines of one image with the lines rendered into it (case-sensitive). */
export function ocrErrors(reference: readonly string[], recognised: readonly string[]): OcrErrors {
  const ref = joinLines(reference);
  const hyp = joinLines(recognised);
  const refWords = words(ref);
  return {
    chars: ref.length,
    charEdits: editDistance([...ref], [...hyp]),
    charsNoSpace: noSpaces(ref).length,
    charEditsNoSpace: editDistance([...noSpaces(ref)], [...noSpaces(hyp)]),
    words: refWords.length,
    wordEdits: editDistance(refWords, words(hyp)),
    wordsFound: wordsFoundInOrder(refWords, hyp),
  };
}

export interface OcrAccuracy {
  readonly images: number;
  /** 1 − Σ edits / Σ reference characters, floored at 0 (micro average over the set). */
  readonly charAccuracy: number;
  readonly charAccuracyNoSpaces: number;
  /** 1 − word error rate (word-level edit distance / reference words), floored at 0. */
  readonly wordAccuracy: number;
  /** Reference words found in order in the text with spaces removed / reference words. */
  readonly wordsFound: number;
  /** Images whose text came back exactly (after joining lines). */
  readonly exactImages: number;
}

const acc = (edits: number, total: number): number => (total === 0 ? (edits === 0 ? 1 : 0) : Math.max(0, 1 - edits / total));

export function accuracy(perImage: readonly OcrErrors[]): OcrAccuracy {
  const sum = (k: keyof OcrErrors): number => perImage.reduce((s, e) => s + e[k], 0);
  return {
    images: perImage.length,
    charAccuracy: acc(sum('charEdits'), sum('chars')),
    charAccuracyNoSpaces: acc(sum('charEditsNoSpace'), sum('charsNoSpace')),
    wordAccuracy: acc(sum('wordEdits'), sum('words')),
    wordsFound: sum('words') === 0 ? 1 : sum('wordsFound') / sum('words'),
    exactImages: perImage.filter((e) => e.charEdits === 0).length,
  };
}
