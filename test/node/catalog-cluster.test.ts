// The clustered node's catalog: its own models first, else the remote model a query would name,
// picked the same way whatever order the adverts come in, with its info made once per advert.
import { describe, expect, it } from 'vitest';
import { createClusterCatalog } from '../../src/node/catalog-cluster.ts';
import type { ModelCatalog } from '../../src/node/dispatch.ts';
import type { AdvertisedModel, ProviderAdvert } from '../../src/routing/types.ts';

const io = { platform: 'onnxruntime', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 512] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1] }] };

function model(name: string, over: Partial<AdvertisedModel> = {}): AdvertisedModel {
  return { name, version: '1', capabilities: [], provider: 'cpu', price: 1, computeMs: 1, queueDepth: 0, io, ...over } as AdvertisedModel;
}

function advert(origin: string, models: AdvertisedModel[]): ProviderAdvert {
  return { origin, seq: 1, models } as unknown as ProviderAdvert;
}

const noLocal: ModelCatalog = { list: () => [], resolve: () => undefined };

function catalog(adverts: ProviderAdvert[], local: ModelCatalog = noLocal): ModelCatalog {
  return createClusterCatalog({ local, adverts: () => adverts, self: () => 'me' });
}

describe('the cluster catalog', () => {
  it('prefers an exact model name to a capability, then the lowest origin id, in any advert order', () => {
    const adverts = [
      advert('c', [model('vad-b', { capabilities: ['speech.vad'] })]),
      advert('a', [model('vad-a', { capabilities: ['speech.vad'] })]),
      advert('b', [model('speech.vad', { version: '2' })]),
      advert('me', [model('speech.vad', { version: '9' })]),
    ];
    for (const order of [adverts, [...adverts].reverse()]) {
      const c = catalog(order);
      expect(c.resolve('speech.vad')).toMatchObject({ name: 'speech.vad', version: '2' }); // exact, not our own advert
      expect(c.resolve('speech.vad', '1')).toMatchObject({ name: 'vad-a' }); // version 1: capabilities, lowest origin
      expect(c.resolve('speech.vad', '7')).toBeUndefined();
    }
  });

  it('skips a model whose signature it cannot read, and answers for its own models first', () => {
    const unknownType = model('m', { io: { ...io, inputs: [{ name: 'x', datatype: 'FP8', shape: [1] }] } });
    const { io: _, ...noSignature } = model('m');
    const c = catalog([advert('a', [unknownType]), advert('b', [noSignature]), advert('z', [model('m', { version: '3' })])]);
    expect(c.resolve('m')).toMatchObject({ name: 'm', version: '3', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 512] }], ready: true });
    const own = { name: 'm', version: 'mine' };
    const withLocal = catalog([advert('z', [model('m')])], { list: () => [], resolve: () => own as never });
    expect(withLocal.resolve('m')).toBe(own);
  });

  it('makes a remote model\'s info once per advert, and anew when the advert is replaced', () => {
    let adverts = [advert('a', [model('m')])];
    const c = createClusterCatalog({ local: noLocal, adverts: () => adverts, self: () => 'me' });
    const first = c.resolve('m');
    expect(c.resolve('m')).toBe(first);
    adverts = [advert('a', [model('m', { version: '2' })])];
    expect(c.resolve('m')).not.toBe(first);
    expect(c.resolve('m')).toMatchObject({ version: '2' });
  });
});
