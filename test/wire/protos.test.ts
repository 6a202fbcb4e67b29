// The service definitions that src/wire/protos.ts builds are proto-loader's loadSync's, less
// the reflection descriptors: the same methods, paths, streaming flags and client names, and
// (de)serializers that give the same bytes and objects for a message that sets every field of
// every message type each method carries (reached through nested types, repeated fields, maps,
// enums and oneofs).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadProtosWithOptionsSync } from '@grpc/proto-loader/build/src/util.js';
import type * as protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { LOADER_OPTIONS, loadServices, PROTO_FILES, SERVICE_NAMES } from '../../src/wire/protos.ts';

const reference = grpc.loadPackageDefinition(protoLoader.loadSync(Object.values(PROTO_FILES), LOADER_OPTIONS));
const root = loadProtosWithOptionsSync(Object.values(PROTO_FILES), LOADER_OPTIONS);
const services = loadServices();

function referenceService(name: string): grpc.ServiceClientConstructor {
  let node: unknown = reference;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  return node as grpc.ServiceClientConstructor;
}

const SCALARS: Record<string, unknown> = {
  double: 1.5, float: 0.25, int32: -7, uint32: 7, sint32: -9, fixed32: 11, sfixed32: -11,
  int64: '-9007199254740993', uint64: '18446744073709551615', sint64: '-5', fixed64: '6', sfixed64: '-6',
  bool: true, string: 'plexus', bytes: Buffer.from([0, 1, 254, 255]),
};

/** A message object that sets every field (nested messages to depth 3, one member per oneof). */
function sample(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const oneofSet = new Set<string>();
  for (const field of type.fieldsArray) {
    field.resolve();
    const oneof = field.partOf;
    if (oneof && !oneof.name.startsWith('_')) {
      if (oneofSet.has(oneof.name)) continue;
      oneofSet.add(oneof.name);
    }
    const value = (): unknown => {
      const rt = field.resolvedType;
      if (rt && 'fieldsArray' in rt) return depth < 3 ? sample(rt, depth + 1) : {};
      if (rt && 'values' in rt) return Object.keys(rt.values).at(-1);
      const scalar = SCALARS[field.type];
      if (scalar === undefined) throw new Error(`no sample for ${type.name}.${field.name}: ${field.type}`);
      return scalar;
    };
    const map = field as protobuf.Field & { map?: boolean };
    if (map.map) out[field.name] = { a: value(), b: value() };
    else if (field.repeated) out[field.name] = [value(), value()];
    else out[field.name] = value();
  }
  return out;
}

describe('loadServices: proto-loader definitions without reflection descriptors', () => {
  for (const [key, name] of Object.entries(SERVICE_NAMES)) {
    it(`${name}: same methods, paths, flags, names and wire behaviour as loadSync`, () => {
      const ctor = services[key as keyof typeof SERVICE_NAMES];
      const refCtor = referenceService(name);
      expect(ctor.serviceName).toBe(refCtor.serviceName);
      const ours = ctor.service;
      const ref = refCtor.service;
      expect(Object.keys(ours).sort()).toEqual(Object.keys(ref).sort());
      const protoService = root.lookupService(name);
      for (const [methodName, m] of Object.entries(ours)) {
        const r = ref[methodName];
        if (r === undefined) throw new Error(`reference lacks ${methodName}`);
        expect({ path: m.path, req: m.requestStream, res: m.responseStream, name: m.originalName })
          .toEqual({ path: r.path, req: r.requestStream, res: r.responseStream, name: r.originalName });
        const method = protoService.methods[methodName];
        if (method === undefined) throw new Error(`no proto method ${methodName}`);
        method.resolve();
        const pairs = [
          [method.resolvedRequestType, m.requestSerialize, m.requestDeserialize, r.requestSerialize, r.requestDeserialize],
          [method.resolvedResponseType, m.responseSerialize, m.responseDeserialize, r.responseSerialize, r.responseDeserialize],
        ] as const;
        for (const [type, enc, dec, refEnc, refDec] of pairs) {
          if (type === null) throw new Error(`unresolved type in ${methodName}`);
          for (const message of [{}, sample(type)]) {
            const bytes = Buffer.from(enc(message));
            if (Object.keys(message).length > 0) expect(bytes.length).toBeGreaterThan(0);
            expect(bytes.toString('hex')).toBe(Buffer.from(refEnc(message)).toString('hex'));
            expect(dec(bytes)).toEqual(refDec(bytes));
          }
          expect(() => enc([])).toThrow(/got array instead/);
        }
      }
    });
  }
});
