// TypeScript shapes of the wire messages as proto-loader decodes them (see protos.ts:
// keepCase, int64 as string, bytes as Buffer, defaults filled). Outgoing messages may leave
// fields out and give 64-bit integers as numbers.

import type { PlexusError } from '../errors.ts';

export type Int64 = string | number;

export interface WireInferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  /** Set by the loader's `oneofs` option to the name of the field that is set. */
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

export type WireParameters = Record<string, WireInferParameter>;

/** Arrays as proto-loader decodes them; the bounded request decoder (infer-decoder.ts) gives typed arrays. */
export interface WireTensorContents {
  bool_contents?: boolean[] | Uint8Array;
  int_contents?: number[] | Int32Array;
  int64_contents?: Int64[] | BigInt64Array;
  uint_contents?: number[] | Uint32Array;
  uint64_contents?: Int64[] | BigUint64Array;
  fp32_contents?: number[] | Float32Array;
  fp64_contents?: number[] | Float64Array;
  bytes_contents?: Uint8Array[];
}

export interface WireInputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: WireParameters;
  contents?: WireTensorContents | null;
}

export interface WireRequestedOutput {
  name: string;
  parameters?: WireParameters;
}

export interface WireInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: WireParameters;
  inputs: WireInputTensor[];
  outputs: WireRequestedOutput[];
  raw_input_contents: Uint8Array[];
  /** Set by the bounded decoder (infer-decoder.ts) when the message is malformed or past a limit. */
  rejected?: PlexusError;
}

export interface WireOutputTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: WireParameters;
  contents?: WireTensorContents | null;
}

export interface WireInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: WireParameters;
  outputs: WireOutputTensor[];
  raw_output_contents: Uint8Array[];
}

export interface WireStreamInferResponse {
  error_message: string;
  infer_response?: Partial<WireInferResponse> | null;
}

export interface WireTensorMetadata {
  name: string;
  datatype: string;
  shape: Int64[];
}

export interface WireModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: WireTensorMetadata[];
  outputs: WireTensorMetadata[];
}

export interface WireModelRef {
  name: string;
  version: string;
}
