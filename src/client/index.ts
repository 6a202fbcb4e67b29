// Public entry of `plexus/client`: a typed client for a Plexus node.
//
//   import { PlexusClient } from 'plexus/client';
//   const client = new PlexusClient('127.0.0.1:8001');
//   const { segments } = await client.detectSpeech(wavBytes);
//   client.close();
export { PlexusClient } from './client.ts';
export { PlexusJobs } from './jobs.ts';
export type { GetJobOptions, ItemResult, ItemState, JobDetails, JobEvent, JobSpec, JobState, JobStatus, SubmittedJob } from './jobs-types.ts';
export { PlexusClientError, isPlexusClientError, type ClientErrorKind } from './errors.ts';
export type { ClientTls } from './auth.ts';
export type {
  CallOptions, Capability, CapabilityProvider, DataType, HostedModel, InferOptions, InferRequest, InferResult, InputTensor,
  ModelMetadata, NodeInfo, Peer, PlexusClientOptions, QueryConstraints, Route, RouteInfo, SpeechResult, SpeechSegment,
  StreamItem, StreamOptions, Tensor, TensorData, TensorInfo,
} from './types.ts';
