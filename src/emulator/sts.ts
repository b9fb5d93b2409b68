/**
 * A minimal STS for the same HTTP endpoint: `GetCallerIdentity` only, as the unmodified
 * `@aws-sdk/client-sts` sends it (the awsQuery protocol: `POST /`, a form-encoded body
 * `Action=GetCallerIdentity&Version=2011-06-15`, SigV4 scope service `sts`; an XML answer).
 * The identity is the one CloudTrail records for the same access key id, so what a caller learns
 * here matches the `userIdentity` of its KMS records.
 *
 * Source: STS API reference, `GetCallerIdentity` (response elements `Arn`, `UserId`, `Account`,
 * and its XML example; "No permissions are required to perform this operation"); the awsQuery
 * error shape (`ErrorResponse` / `Error` / `Type`, `Code`, `Message`, `RequestId`).
 */
import type { ApiResponse, CallerCredentials } from './dispatcher.js';
import type { CloudTrailUserIdentity } from './types.js';

/** The SigV4 scope service of STS requests. */
export const STS_SERVICE = 'sts';
/** The XML namespace of STS answers (API version 2011-06-15). */
const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const STS_VERSION = '2011-06-15';

/** What an STS call needs from the emulator. */
export interface StsContext {
  readonly requestId: string;
  /** How CloudTrail names the caller with this access key id. */
  readonly identityOf: (accessKeyId: string) => CloudTrailUserIdentity;
}

/**
 * Answers one STS request. `GetCallerIdentity` returns the caller's `Arn`, `UserId` (the
 * CloudTrail `principalId`) and `Account`. Any other action, or a `Version` other than
 * 2011-06-15, answers `InvalidAction` (400) "Could not find operation <action> for version
 * <version>" (INF: the wording of other AWS query services).
 *
 * @param caller - the SigV4 caller (access key id, Region).
 * @param body - the form-encoded request body.
 */
export function serveSts(caller: CallerCredentials, body: Uint8Array | string, ctx: StsContext): ApiResponse {
  const form = new URLSearchParams(typeof body === 'string' ? body : new TextDecoder().decode(body));
  const action = form.get('Action') ?? '';
  const version = form.get('Version') ?? '';
  if (action !== 'GetCallerIdentity' || version !== STS_VERSION) {
    return stsError(ctx.requestId, 'InvalidAction', `Could not find operation ${action === '' ? '(none)' : action} for version ${version === '' ? '(none)' : version}`);
  }
  const identity = ctx.identityOf(caller.accessKeyId);
  const xml =
    `<GetCallerIdentityResponse xmlns="${STS_NAMESPACE}">` +
    '<GetCallerIdentityResult>' +
    `<Arn>${escapeXml(identity.arn)}</Arn>` +
    `<UserId>${escapeXml(identity.principalId)}</UserId>` +
    `<Account>${escapeXml(identity.accountId)}</Account>` +
    '</GetCallerIdentityResult>' +
    `<ResponseMetadata><RequestId>${ctx.requestId}</RequestId></ResponseMetadata>` +
    '</GetCallerIdentityResponse>';
  return { statusCode: 200, requestId: ctx.requestId, body: xml, contentType: 'text/xml' };
}

function stsError(requestId: string, code: string, message: string): ApiResponse {
  const xml =
    `<ErrorResponse xmlns="${STS_NAMESPACE}">` +
    `<Error><Type>Sender</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    '</ErrorResponse>';
  return { statusCode: 400, requestId, body: xml, errorCode: code, contentType: 'text/xml' };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
