import { describe, expect, it } from 'vitest';
import { parseReplicaRegionsTag } from '../../src/reconcile/tag-contract.js';

const primary = { primaryRegion: 'us-east-1' };

describe('parseReplicaRegionsTag', () => {
  it('reads whitespace-separated Region codes, sorted', () => {
    expect(parseReplicaRegionsTag('us-west-2 eu-west-1', primary)).toEqual({
      regions: ['eu-west-1', 'us-west-2'],
      rejected: [],
      optOut: false,
    });
  });

  it('accepts + / : , ; and runs of spaces and tabs as separators', () => {
    expect(parseReplicaRegionsTag(' us-west-2+eu-west-1/ap-south-1:ca-central-1,sa-east-1;\teu-north-1  ', primary).regions).toEqual([
      'ap-south-1',
      'ca-central-1',
      'eu-north-1',
      'eu-west-1',
      'sa-east-1',
      'us-west-2',
    ]);
  });

  it('folds case and duplicates', () => {
    expect(parseReplicaRegionsTag('US-West-2 us-west-2 EU-WEST-1 eu-west-1', primary)).toEqual({
      regions: ['eu-west-1', 'us-west-2'],
      rejected: [],
      optOut: false,
    });
  });

  it("ignores the primary's own Region without complaint", () => {
    expect(parseReplicaRegionsTag('us-east-1 us-west-2', primary)).toEqual({ regions: ['us-west-2'], rejected: [], optOut: false });
  });

  it.each([[''], ['   '], ['none'], ['NONE'], [' None ']])('treats %j as an opt-out', (value) => {
    expect(parseReplicaRegionsTag(value, primary)).toEqual({ regions: [], rejected: [], optOut: true });
  });

  it('reports a bogus token and keeps the valid Regions', () => {
    expect(parseReplicaRegionsTag('us-west-2 mars-north-1 eu-west-1 bogus', primary)).toEqual({
      regions: ['eu-west-1', 'us-west-2'],
      rejected: [
        { token: 'mars-north-1', status: 'invalid-region', message: "'mars-north-1' is not a Region where AWS KMS is available" },
        { token: 'bogus', status: 'invalid-region', message: "'bogus' is not a Region code (expected a code such as us-west-2)" },
      ],
      optOut: false,
    });
  });

  it('reports an availability-zone name as not a Region code', () => {
    expect(parseReplicaRegionsTag('us-east-1a', primary).rejected).toEqual([
      { token: 'us-east-1a', status: 'invalid-region', message: "'us-east-1a' is not a Region code (expected a code such as us-west-2)" },
    ]);
  });

  it("reports a Region of another partition as invalid for this primary", () => {
    expect(parseReplicaRegionsTag('cn-north-1 us-gov-west-1', primary)).toEqual({
      regions: [],
      rejected: [
        {
          token: 'cn-north-1',
          status: 'invalid-region',
          message: "'cn-north-1' is in partition aws-cn; replicas must be in the primary key's partition aws",
        },
        {
          token: 'us-gov-west-1',
          status: 'invalid-region',
          message: "'us-gov-west-1' is in partition aws-us-gov; replicas must be in the primary key's partition aws",
        },
      ],
      optOut: false,
    });
  });

  it('reports Regions outside ALLOWED_REGIONS as region-not-allowed', () => {
    const allowed = new Set(['us-west-2']);
    expect(parseReplicaRegionsTag('us-west-2 eu-west-1', { ...primary, allowedRegions: allowed })).toEqual({
      regions: ['us-west-2'],
      rejected: [{ token: 'eu-west-1', status: 'region-not-allowed', message: "'eu-west-1' is not in ALLOWED_REGIONS" }],
      optOut: false,
    });
  });

  it('accepts a Region the table does not know when ALLOWED_REGIONS names it', () => {
    const allowed = new Set(['us-west-2', 'eu-east-9']);
    expect(parseReplicaRegionsTag('eu-east-9', { ...primary, allowedRegions: allowed }).regions).toEqual(['eu-east-9']);
  });

  it('treats none next to Regions as a bad token', () => {
    expect(parseReplicaRegionsTag('none us-west-2', primary)).toEqual({
      regions: ['us-west-2'],
      rejected: [{ token: 'none', status: 'invalid-region', message: "'none' is not a Region code (expected a code such as us-west-2)" }],
      optOut: false,
    });
  });

  it('handles a 256-character value of junk without throwing', () => {
    const value = 'x'.repeat(256);
    const parsed = parseReplicaRegionsTag(value, primary);
    expect(parsed.regions).toEqual([]);
    expect(parsed.rejected.map((r) => r.token)).toEqual([value]);
  });
});
