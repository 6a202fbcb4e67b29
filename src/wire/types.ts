// The tensor and parameter shapes every transport shares (KServe v2 datatypes, row-major
// storage, request/response parameters). src/inference/types.ts re-exports them.

export type DataType =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BF16' | 'BYTES';

/**
 * Element storage per datatype (row-major):
 * BOOL/UINT8 Uint8Array, INT8 Int8Array, UINT16/FP16/BF16 Uint16Array, INT16 Int16Array,
 * UINT32 Uint32Array, INT32 Int32Array, UINT64 BigUint64Array, INT64 BigInt64Array,
 * FP32 Float32Array, FP64 Float64Array, BYTES Uint8Array[] (one buffer per element).
 */
export type TensorData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | BigUint64Array | BigInt64Array | Float32Array | Float64Array | Uint8Array[];

export interface Tensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export type ParamValue = string | number | boolean;
export type Params = Readonly<Record<string, ParamValue>>;

/**
 * Where a model's session runs (`plexus.provider` asks for one): ONNX Runtime's CUDA execution
 * provider, its WebGPU one (Dawn over Vulkan on Linux, bundled with onnxruntime-node), or its CPU
 * one. The one list of them, for the config schema, the advert codec and the routing constraint.
 */
export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** A tensor's declared form; -1 marks a dynamic dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
}
