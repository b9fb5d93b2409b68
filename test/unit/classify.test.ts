import { describe, expect, it } from 'vitest';
import { classifyAwsError } from '../../src/aws/classify.js';
import { RetryableError, TerminalError } from '../../src/reconcile/errors.js';

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
}

describe('classifyAwsError', () => {
  it.each([
    ['ThrottlingException', 400, 'retryable'],
    ['KMSInternalException', 500, 'retryable'],
    ['KMSInvalidStateException', 400, 'retryable'],
    ['SomethingNew', 503, 'retryable'],
    ['TooManyRequestsException', 429, 'retryable'],
    ['AccessDeniedException', 400, 'terminal'],
    ['ValidationException', 400, 'terminal'],
    ['UnsupportedOperationException', 400, 'terminal'],
    ['MalformedPolicyDocumentException', 400, 'terminal'],
    ['AlreadyExistsException', 400, 'terminal'],
    ['DisabledException', 400, 'terminal'],
    ['NotFoundException', 400, 'terminal'],
    ['LimitExceededException', 400, 'terminal'],
  ])('%s (HTTP %i) is %s', (name, status, kind) => {
    const classified = classifyAwsError(awsError(name, status));
    expect(classified).toBeInstanceOf(kind === 'retryable' ? RetryableError : TerminalError);
    expect(classified.code).toBe(name);
    expect(classified.message).toBe(`${name} happened`);
  });

  it('treats a reset connection as retryable and names the code', () => {
    const classified = classifyAwsError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    expect(classified).toBeInstanceOf(RetryableError);
    expect(classified.code).toBe('ECONNRESET');
  });

  it('returns already classified errors unchanged', () => {
    const terminal = new TerminalError('bad', 'InvalidEvent');
    expect(classifyAwsError(terminal)).toBe(terminal);
  });

  it('treats a thrown non-error as terminal', () => {
    const classified = classifyAwsError('boom');
    expect(classified).toBeInstanceOf(TerminalError);
    expect([classified.code, classified.message]).toEqual(['UnknownError', 'boom']);
  });
});
