// Type guards for decoding what a peer or client sent (JSON already parsed): one definition
// for the p2p frame codecs and the REST codec.

/** A plain JSON object (not null, not an array). */
export const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A number that is not NaN or ±Infinity. */
export const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
