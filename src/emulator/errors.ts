/**
 * An error the emulator answers with: `code` goes to the body's `__type` and the
 * `x-amzn-ErrorType` header, `statusCode` is 400 for client errors and 500 for
 * `KMSInternalException` [S11 `$fault`].
 */
export class KmsApiError extends Error {
  override readonly name = 'KmsApiError';

  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number = 400,
  ) {
    super(message);
  }
}

/** `NotFoundException` (400): the key does not exist in the caller's Region [S2][S7]. */
export function notFoundError(message: string): KmsApiError {
  return new KmsApiError('NotFoundException', message);
}

/** `NotFoundException` with AWS's wording for an unknown key: `Key '<arn>' does not exist` [S7 REC]. */
export function keyDoesNotExistError(arn: string): KmsApiError {
  return notFoundError(`Key '${arn}' does not exist`);
}

/** `InvalidArnException` (400): an ARN in the request is not a valid ARN [S2]. */
export function invalidArnError(arn: string): KmsApiError {
  return new KmsApiError('InvalidArnException', `Invalid arn ${arn}`);
}

/** `AlreadyExistsException` (400) [S2 ReplicateKey]. */
export function alreadyExistsError(message: string): KmsApiError {
  return new KmsApiError('AlreadyExistsException', message);
}

/** `UnsupportedOperationException` (400) [S2][S7]. */
export function unsupportedOperationError(message: string): KmsApiError {
  return new KmsApiError('UnsupportedOperationException', message);
}

/**
 * `InvalidImportTokenException` (400): the import token is not one KMS issued, or was issued for
 * another key [S2 ImportKeyMaterial]. INF: the wording.
 */
export function invalidImportTokenError(): KmsApiError {
  return new KmsApiError('InvalidImportTokenException', 'The import token is invalid or is associated with a different KMS key.');
}

/** `ExpiredImportTokenException` (400): the token is older than 24 hours [S2 ImportKeyMaterial, GetParametersForImport]. INF: the wording. */
export function expiredImportTokenError(): KmsApiError {
  return new KmsApiError('ExpiredImportTokenException', 'The import token has expired. Use GetParametersForImport to get a new public key and import token.');
}

/** `InvalidCiphertextException` (400) of ImportKeyMaterial: KMS could not decrypt the wrapped key material [S2]. INF: the wording. */
export function invalidWrappedMaterialError(): KmsApiError {
  return new KmsApiError('InvalidCiphertextException', 'KMS could not decrypt the wrapped key material with the wrapping key and algorithm of the import token.');
}

/**
 * `IncorrectKeyMaterialException` (400): the material is invalid, is not the material imported
 * before, or is already associated with the key when new material was expected [S2]. INF: the wording.
 */
export function incorrectKeyMaterialError(message: string): KmsApiError {
  return new KmsApiError('IncorrectKeyMaterialException', message);
}

/** `KMSInvalidStateException` (400) with a message of its own (checks outside the key-state table). */
export function invalidStateMessageError(message: string): KmsApiError {
  return new KmsApiError('KMSInvalidStateException', message);
}

/** `TagException` (400): reserved prefix, duplicate keys or too many tags [S7 REC][fact sheet §4]. */
export function tagError(message: string): KmsApiError {
  return new KmsApiError('TagException', message);
}

/** `ValidationException` (400, not modelled in the SDK) for model constraint violations [S7]. */
export function validationError(violations: readonly string[]): KmsApiError {
  const count = violations.length;
  const head = `${count} validation error${count === 1 ? '' : 's'} detected: `;
  return new KmsApiError('ValidationException', head + violations.join('; '));
}

/** `InvalidMarkerException` (400): the pagination marker is not one this emulator issued [S2]. */
export function invalidMarkerError(): KmsApiError {
  return new KmsApiError('InvalidMarkerException', 'The marker that specifies where pagination should next begin is not valid.');
}

/** `MalformedPolicyDocumentException` (400): the key policy is not a JSON object [S2]. */
export function malformedPolicyError(message: string): KmsApiError {
  return new KmsApiError('MalformedPolicyDocumentException', message);
}

/** `SerializationException` (400): the body is not JSON or a member has the wrong JSON type. */
export function serializationError(message: string): KmsApiError {
  return new KmsApiError('SerializationException', message);
}

/** `UnknownOperationException` (400): the `X-Amz-Target` names no operation the emulator serves. */
export function unknownOperationError(target: string): KmsApiError {
  return new KmsApiError('UnknownOperationException', `Unknown operation ${target === '' ? '(no X-Amz-Target header)' : target}`);
}

/** `MissingAuthenticationTokenException` (400): no `Authorization` header. */
export function missingAuthenticationError(): KmsApiError {
  return new KmsApiError(
    'MissingAuthenticationTokenException',
    'Missing Authentication Token: the embedded KMS needs a SigV4 Authorization header to learn the Region',
  );
}

/** `IncompleteSignatureException` (400): an `Authorization` header without a SigV4 credential scope. */
export function incompleteSignatureError(): KmsApiError {
  return new KmsApiError(
    'IncompleteSignatureException',
    "Authorization header requires 'Credential' parameter in the form AWS4-HMAC-SHA256 Credential=<access key id>/<yyyymmdd>/<region>/kms/aws4_request",
  );
}

/**
 * `RequestEntityTooLargeException` (413): the body exceeds `maxBytes`. INF: AWS documents no request
 * size limit for KMS; the name and status are those AWS services use for an oversized payload
 * (e.g. Lambda's `RequestEntityTooLargeException`, HTTP 413).
 */
export function bodyTooLargeError(maxBytes: number): KmsApiError {
  return new KmsApiError('RequestEntityTooLargeException', `The request body exceeds ${maxBytes} bytes.`, 413);
}

/** `KMSInternalException` (500): an unexpected failure inside the emulator [S11]. */
export function internalError(message: string): KmsApiError {
  return new KmsApiError('KMSInternalException', message, 500);
}

/** The message KMS throttles with [S4 throttling.md]. */
export const KMS_THROTTLING_MESSAGE = 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

/**
 * `ThrottlingException` (HTTP 400, not a modelled SDK class) [S4][fact sheet §3]. KMS words it as
 * {@link KMS_THROTTLING_MESSAGE}; for EventBridge the emulator says `Rate exceeded` (INF).
 */
export function throttlingError(service: 'kms' | 'events' = 'kms'): KmsApiError {
  return new KmsApiError('ThrottlingException', service === 'kms' ? KMS_THROTTLING_MESSAGE : 'Rate exceeded');
}

/**
 * `LimitExceededException` (400): a resource quota is exceeded, e.g. 100,000 customer managed keys
 * per Region [S1 resource-limits.md][S2]. INF: the message wording.
 */
export function limitExceededError(message: string): KmsApiError {
  return new KmsApiError('LimitExceededException', message);
}

/**
 * An injected server fault (HTTP 500): `KMSInternalException` for KMS [S11], `InternalException`
 * for EventBridge [S13 events model].
 */
export function injectedInternalError(service: 'kms' | 'events'): KmsApiError {
  return service === 'kms'
    ? internalError('The request was rejected because an internal exception occurred. The request can be retried.')
    : new KmsApiError('InternalException', 'This exception occurs due to unexpected causes.', 500);
}

/**
 * `InvalidSignatureException` (403): the SigV4 credential scope names another service than the
 * target's (`kms` for TrentService, `events` for AWSEvents). INF: AWS's wording
 * `Credential should be scoped to correct service: '<service>'. `.
 */
export function wrongServiceScopeError(service: string): KmsApiError {
  return new KmsApiError('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'. `, 403);
}

/**
 * `InvalidSignatureException` (400): the SigV4 credential scope's Region is not a well-formed
 * Region code (`REGION_PATTERN`). INF: the wording is the one AWS services give for a Region they
 * do not serve, `Credential should be scoped to a valid region, not '<region>'. `; the status is
 * 400, as JSON 1.1 services answer InvalidSignatureException (seen from EMR).
 */
export function invalidRegionScopeError(region: string): KmsApiError {
  return new KmsApiError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'. `);
}
