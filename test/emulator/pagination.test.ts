import { ListKeysCommand, ListResourceTagsCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, startHarness, type KmsHarness } from './support.js';

describe('embedded KMS: ListKeys and ListResourceTags pagination', () => {
  let h: KmsHarness;
  let client: KMSClient;
  const seededIds: string[] = [];

  beforeAll(async () => {
    h = await startHarness();
    client = h.client('eu-south-1');
    for (let i = 0; i < 250; i += 1) seededIds.push(h.kms.seedKey({ region: 'eu-south-1', multiRegion: i % 2 === 0 }).KeyId);
    h.kms.seedKey({ region: 'eu-south-2' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('returns 100 keys by default with Truncated and a NextMarker', async () => {
    const page = await client.send(new ListKeysCommand({}));
    expect(page.Keys).toHaveLength(100);
    expect(page.Truncated).toBe(true);
    expect(typeof page.NextMarker).toBe('string');
    expect(page.Keys?.[0]).toEqual({ KeyId: seededIds[0], KeyArn: `arn:aws:kms:eu-south-1:111122223333:key/${seededIds[0]}` });
  });

  it('walks every key of the Region exactly once, in creation order', async () => {
    const seen: string[] = [];
    const truncations: boolean[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListKeysCommand({ Limit: 64, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...(page.Keys ?? []).map((key) => key.KeyId ?? ''));
      truncations.push(page.Truncated ?? false);
      marker = page.NextMarker;
    } while (marker !== undefined);
    expect(seen).toEqual(seededIds);
    expect(truncations).toEqual([true, true, true, false]);
  });

  it('ends with Truncated false and no NextMarker when everything fits', async () => {
    const page = await client.send(new ListKeysCommand({ Limit: 1000 }));
    expect(page.Keys).toHaveLength(250);
    expect(page.Truncated).toBe(false);
    expect(page.NextMarker).toBeUndefined();
  });

  it.each([0, 1001])('answers ValidationException for Limit %i', async (limit) => {
    const error = await errorOf(client.send(new ListKeysCommand({ Limit: limit })));
    expect(error.name).toBe('ValidationException');
  });

  it('answers InvalidMarkerException for a marker it did not issue', async () => {
    const error = await errorOf(client.send(new ListKeysCommand({ Marker: 'bogus' })));
    expect(error.name).toBe('InvalidMarkerException');
  });

  it('answers InvalidMarkerException for a marker issued in another Region', async () => {
    const page = await client.send(new ListKeysCommand({ Limit: 1 }));
    const error = await errorOf(h.client('eu-south-2').send(new ListKeysCommand({ Marker: page.NextMarker ?? '' })));
    expect(error.name).toBe('InvalidMarkerException');
  });

  it('pages ListResourceTags with Limit, Marker, NextMarker and Truncated (default limit 50)', async () => {
    const tags = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key-${String(i).padStart(2, '0')}`, `v${i}`]));
    const key = h.kms.seedKey({ region: 'eu-south-1', tags });
    const all = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    const first = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 20 }));
    const second = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 20, Marker: first.NextMarker }));
    const third = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 20, Marker: second.NextMarker }));

    expect(all.Tags).toHaveLength(50);
    expect(all.Truncated).toBe(false);
    expect(all.NextMarker).toBeUndefined();
    expect([first.Truncated, second.Truncated, third.Truncated]).toEqual([true, true, false]);
    expect(third.NextMarker).toBeUndefined();
    const walked = [...(first.Tags ?? []), ...(second.Tags ?? []), ...(third.Tags ?? [])];
    expect(walked).toEqual(Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })));
  });

  it('answers ValidationException for a ListResourceTags Limit above 50', async () => {
    const key = h.kms.seedKey({ region: 'eu-south-1' });
    const error = await errorOf(client.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 51 })));
    expect(error.name).toBe('ValidationException');
  });

  it('answers InvalidMarkerException for a ListResourceTags marker of another key', async () => {
    const a = h.kms.seedKey({ region: 'eu-south-1', tags: { x: '1', y: '2' } });
    const b = h.kms.seedKey({ region: 'eu-south-1', tags: { x: '1', y: '2' } });
    const page = await client.send(new ListResourceTagsCommand({ KeyId: a.KeyId, Limit: 1 }));
    const error = await errorOf(client.send(new ListResourceTagsCommand({ KeyId: b.KeyId, Marker: page.NextMarker })));
    expect(error.name).toBe('InvalidMarkerException');
  });
});
