import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../src/emulator/server.js';
import { ManualClock, rawCall, startHarness, type KmsHarness } from './support.js';

/** `[[[…]]]`, `depth` arrays deep. */
function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** `{"a":{"a":…1}}`, `depth` objects deep. */
function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

const TOO_DEEP = {
  __type: 'SerializationException',
  message: 'The request body nests deeper than 1000 levels of objects and arrays.',
};

describe('embedded KMS: hostile input is answered, never fatal', () => {
  const clock = new ManualClock();
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.kms.resetCalls();
    h.kms.takeEvents();
  });

  it('answers SerializationException to a CreateKey whose Tags nest 3,000 arrays deep, and keeps serving', async () => {
    // Prepare: a 6 KB body (issue 11, item 11: it used to kill the process in the CloudTrail conversion).
    const body = `{"Tags":${nestedArrays(3000)}}`;

    // Act
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.CreateKey', body });
    const after = await h.client('us-east-1').send(new CreateKeyCommand({}));

    // Assess
    expect(response.status).toBe(400);
    expect(response.json).toEqual(TOO_DEEP);
    expect(after.KeyMetadata?.KeyState).toBe('Enabled');
    expect(h.kms.calls()).toEqual([
      { operation: 'CreateKey', region: 'us-east-1', errorCode: 'SerializationException', at: clock.current },
      { operation: 'CreateKey', region: 'us-east-1', keyId: after.KeyMetadata?.KeyId, at: clock.current },
    ]);
    // A body refused before it is parsed leaves no CloudTrail record; the good CreateKey does.
    expect(h.kms.takeEvents().map((e) => e.detail.errorCode ?? 'ok')).toEqual(['ok']);
  });

  it('answers SerializationException to a TagResource with a 5,000-deep object in a member it does not know', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const body = `{"KeyId":"${key.KeyId}","Tags":[{"TagKey":"a","TagValue":"b"}],"Extra":${nestedObjects(5000)}}`;

    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.TagResource', body });

    expect(response.status).toBe(400);
    expect(response.json).toEqual(TOO_DEEP);
    expect(h.kms.tags('us-east-1', key.KeyId)).toEqual({});
  });

  it('accepts a body exactly 1,000 levels deep and records it in CloudTrail as sent', async () => {
    // Prepare: the body object is level 1, so an unknown member nested 999 deep makes 1,000.
    const body = `{"MultiRegion":true,"Extra":${nestedArrays(999)}}`;

    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.CreateKey', body });

    expect(response.status).toBe(200);
    const [event] = h.kms.takeEvents();
    let depth = 0;
    let member: unknown = event?.detail.requestParameters?.['extra'];
    while (Array.isArray(member)) {
      depth += 1;
      member = member[0];
    }
    expect(depth).toBe(999);
  });

  it('refuses a body one level deeper than the limit', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.ListKeys', body: `{"Extra":${nestedArrays(1000)}}` });

    expect(response.status).toBe(400);
    expect(response.json).toEqual(TOO_DEEP);
  });

  it('counts depth outside strings only: brackets inside a string value are text', async () => {
    const response = await rawCall(h.kms.endpoint, {
      target: 'TrentService.CreateKey',
      body: JSON.stringify({ Description: nestedArrays(2000) + '"\\' }),
    });

    expect(response.status).toBe(200);
  });

  it('answers RequestEntityTooLargeException (413) to a 5 MiB body, records the call, and keeps serving', async () => {
    const body = `{"Description":"${'x'.repeat(5 * 1024 * 1024)}"}`;

    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.CreateKey', body });
    const after = await h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: h.kms.seedKey({ region: 'us-east-1' }).KeyId }));

    expect(response.status).toBe(413);
    expect(response.json).toEqual({ __type: 'RequestEntityTooLargeException', message: 'The request body exceeds 1048576 bytes.' });
    expect(response.headers.get('x-amzn-RequestId')).toMatch(/^[0-9a-f-]{36}$/);
    expect(after.KeyMetadata?.KeyState).toBe('Enabled');
    expect(h.kms.calls()[0]).toEqual({ operation: 'CreateKey', region: 'us-east-1', errorCode: 'RequestEntityTooLargeException', at: clock.current });
    expect(h.kms.takeEvents()).toEqual([]);
  });

  it('answers SerializationException to a body that is not valid UTF-8', async () => {
    // Prepare: `{"Description":"<0xff>"}` — 0xff never occurs in UTF-8.
    const body = new Uint8Array([...Buffer.from('{"Description":"'), 0xff, ...Buffer.from('"}')]);

    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.CreateKey', body });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({ __type: 'SerializationException', message: 'The request body is not valid UTF-8.' });
    expect(h.kms.calls()).toEqual([{ operation: 'CreateKey', region: 'us-east-1', errorCode: 'SerializationException', at: clock.current }]);
  });

  it('answers SerializationException to a JSON body that is not an object', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.ListKeys', body: '[1,2]' });

    expect(response.status).toBe(400);
    expect(response.json).toEqual({ __type: 'SerializationException', message: 'The request body must be a JSON object' });
  });

  it('keeps a member named __proto__ as data in the CloudTrail record', async () => {
    const response = await rawCall(h.kms.endpoint, { target: 'TrentService.CreateKey', body: '{"__proto__":{"polluted":true}}' });

    expect(response.status).toBe(200);
    const [event] = h.kms.takeEvents();
    const parameters = event?.detail.requestParameters as Record<string, unknown>;
    expect(Object.getPrototypeOf(parameters)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parameters, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('fails a PutEvents entry whose Detail nests deeper than 1,100 levels with MalformedDetail, keeping the others', async () => {
    const out = await h.events('us-east-1').send(
      new PutEventsCommand({
        Entries: [
          { Source: 'a', DetailType: 't', Detail: `{"d":${nestedArrays(1100)}}` },
          { Source: 'a', DetailType: 't', Detail: `{"d":${nestedArrays(1099)}}` },
        ],
      }),
    );

    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(h.kms.publishedEvents()).toHaveLength(1);
  });

  it('answers KMSInternalException (500) when an operation fails in a way the emulator did not foresee, and keeps serving', async () => {
    // Prepare: an operation whose CloudTrail responseElements cannot be converted (a cycle).
    const original = h.kms.operations.get('CreateKey');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    h.kms.operations.set('CreateKey', { mutating: true, run: () => ({ output: {}, responseElements: cyclic }) });

    try {
      // Act
      const response = await rawCall(h.kms.endpoint, { target: 'TrentService.CreateKey', body: '{}' });
      h.kms.operations.set('CreateKey', original as NonNullable<typeof original>);
      const after = await h.client('us-east-1').send(new CreateKeyCommand({}));

      // Assess
      expect(response.status).toBe(500);
      expect(response.json['__type']).toBe('KMSInternalException');
      expect(response.json['message']).toMatch(/^The embedded KMS failed: /);
      expect(after.KeyMetadata?.KeyState).toBe('Enabled');
      expect(h.kms.calls()[0]).toEqual({ operation: 'CreateKey', region: 'us-east-1', errorCode: 'KMSInternalException', at: clock.current });
    } finally {
      h.kms.operations.set('CreateKey', original as NonNullable<typeof original>);
    }
  });

  it('answers KMSInternalException (500) even when an operation throws a value that cannot be printed', async () => {
    const original = h.kms.operations.get('DescribeKey');
    const unprintable = {
      toString(): string {
        throw new Error('cannot print');
      },
    };
    h.kms.operations.set('DescribeKey', {
      mutating: false,
      run: () => {
        throw unprintable;
      },
    });

    try {
      const response = await rawCall(h.kms.endpoint, { target: 'TrentService.DescribeKey', body: '{}' });
      h.kms.operations.set('DescribeKey', original as NonNullable<typeof original>);
      const after = await h.client('us-east-1').send(new DescribeKeyCommand({ KeyId: h.kms.seedKey({ region: 'us-east-1' }).KeyId }));

      expect(response.status).toBe(500);
      expect(response.json).toEqual({ __type: 'KMSInternalException', message: 'The embedded KMS failed: (an unprintable error)' });
      expect(after.KeyMetadata?.KeyState).toBe('Enabled');
    } finally {
      h.kms.operations.set('DescribeKey', original as NonNullable<typeof original>);
    }
  });
});

describe('embedded KMS HTTP front end: the last-resort handler', () => {
  it('answers InternalFailure (500) when the dispatcher breaks its promise never to throw, and keeps serving', async () => {
    // Prepare: a handler that throws on its first request only.
    let calls = 0;
    const server = await startHttpServer(
      {
        invoke: () => {
          calls += 1;
          if (calls === 1) throw new RangeError('Maximum call stack size exceeded');
          return { statusCode: 200, requestId: 'r-2', body: '{}' };
        },
      },
      '127.0.0.1',
      0,
    );

    try {
      // Act
      const first = await rawCall(server.endpoint, { target: 'TrentService.ListKeys' });
      const second = await rawCall(server.endpoint, { target: 'TrentService.ListKeys' });

      // Assess
      expect(first.status).toBe(500);
      expect(first.headers.get('x-amzn-ErrorType')).toBe('InternalFailure');
      expect(first.json).toEqual({ __type: 'InternalFailure', message: 'The embedded KMS failed: Maximum call stack size exceeded' });
      expect(second.status).toBe(200);
      expect(second.json).toEqual({});
    } finally {
      await server.close();
    }
  });
});

describe('embedded KMS standalone (npm run emulator): hostile input', () => {
  it('answers a 3,000-deep body and keeps serving, then stops cleanly on SIGTERM', async () => {
    // Prepare: the CLI in its own process, as `npm run emulator` runs it.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/cli.ts', '--port', '0'], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const endpoint = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stderr.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(seen);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('close', () => reject(new Error(`the emulator exited before listening: ${seen}`)));
    });

    // Act
    const deep = await rawCall(endpoint, { target: 'TrentService.CreateKey', body: `{"Tags":${nestedArrays(3000)}}` });
    const after = await rawCall(endpoint, { target: 'TrentService.ListKeys', body: '{}' });
    child.kill('SIGTERM');

    // Assess
    expect(deep.json).toEqual(TOO_DEEP);
    expect(after.json).toEqual({ Keys: [], Truncated: false });
    expect(await exited).toBe(0);
  });
});
