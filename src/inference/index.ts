// Public surface of the local inference engine.
export { createLocalInference, type LocalInferenceInit } from './engine.ts';
export { BUILTIN_PPOCR_DET, BUILTIN_PPOCR_REC, ocrModelEntries } from './adapters/ocr/ocr-config.ts';
export {
  BUILTIN_SILERO_VAD, builtinSileroVadPath, compileInferenceSettings, compileModelSpecs, DEFAULT_INFERENCE_SETTINGS, defaultModelEntries, defaultModelSpecs, modelSpecSchema, vadModelEntries,
  type AudioLimits, type InferenceSettings,
  type AdapterModelSpec, type BatchingSpec, type FaultSpec, type ModelSpec, type OnnxModelSpec, type SessionSpec,
} from './config.ts';
export { DATATYPES, checkShape, decodeRawTensor, elementCount, encodeRawTensor, formatShape, isDataType, MAX_ELEMENTS, MAX_RANK } from '../wire/tensor.ts';
export { validateRequest } from './validate.ts';
export { decodeWav, decodeWavMono, type DecodedAudio } from './wav.ts';
export { resample } from './resample.ts';
export type * from './types.ts';
export type { BatchListener, BatchStats } from './batch-stats.ts';
