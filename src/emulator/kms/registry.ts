/**
 * The registry of KMS operations the embedded KMS serves, keyed by the name after `TrentService.`
 * in `X-Amz-Target` [S2].
 */
import type { OperationDefinition } from './operation.js';
import { deleteImportedKeyMaterial, getParametersForImport, importKeyMaterial, listKeyRotations, rotateKeyOnDemand } from './operations/key-material.js';
import { cancelKeyDeletion, createKey, describeKey, disableKey, enableKey, listKeys, scheduleKeyDeletion } from './operations/lifecycle.js';
import { replicateKey, updatePrimaryRegion } from './operations/multi-region.js';
import { getKeyPolicy, listResourceTags, putKeyPolicy, tagResource, untagResource } from './operations/tags-and-policy.js';

/** A fresh registry. Callers may add or replace entries (chaos runs wrap ReplicateKey). */
export function createOperationRegistry(): Map<string, OperationDefinition> {
  return new Map<string, OperationDefinition>([
    ['CreateKey', createKey],
    ['DescribeKey', describeKey],
    ['ListKeys', listKeys],
    ['ListResourceTags', listResourceTags],
    ['TagResource', tagResource],
    ['UntagResource', untagResource],
    ['ReplicateKey', replicateKey],
    ['ScheduleKeyDeletion', scheduleKeyDeletion],
    ['CancelKeyDeletion', cancelKeyDeletion],
    ['EnableKey', enableKey],
    ['DisableKey', disableKey],
    ['GetKeyPolicy', getKeyPolicy],
    ['PutKeyPolicy', putKeyPolicy],
    ['UpdatePrimaryRegion', updatePrimaryRegion],
    ['GetParametersForImport', getParametersForImport],
    ['ImportKeyMaterial', importKeyMaterial],
    ['DeleteImportedKeyMaterial', deleteImportedKeyMaterial],
    ['RotateKeyOnDemand', rotateKeyOnDemand],
    ['ListKeyRotations', listKeyRotations],
  ]);
}
