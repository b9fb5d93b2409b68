/**
 * The key-state rules of the embedded KMS as data: for each operation on a key, and each state the
 * key can be in, whether the operation runs or which error it answers [S1 key-state.md][fact sheet
 * §1.4]. Every operation on a key checks its row once (see `defineKeyOperation`), after the key is
 * resolved and before it acts. `test/emulator/key-state-table.test.ts` reads the fact sheet's table
 * against this one; `test/emulator/key-state-conformance.test.ts` walks every cell over HTTP.
 */
import { KmsApiError } from '../errors.js';
import type { KeyState } from '../types.js';

/** The operations that act on one key, in the fact sheet's row order (DisableKey added). */
export type KeyOperationName =
  | 'ReplicateKey'
  | 'DescribeKey'
  | 'ListResourceTags'
  | 'GetKeyPolicy'
  | 'PutKeyPolicy'
  | 'TagResource'
  | 'UntagResource'
  | 'ScheduleKeyDeletion'
  | 'CancelKeyDeletion'
  | 'EnableKey'
  | 'DisableKey'
  | 'UpdatePrimaryRegion'
  | 'GetParametersForImport'
  | 'ImportKeyMaterial'
  | 'DeleteImportedKeyMaterial'
  | 'RotateKeyOnDemand'
  | 'ListKeyRotations';

/** The error codes the table uses. */
export type KeyStateErrorCode = 'DisabledException' | 'KMSInvalidStateException';

/** One cell: the operation runs, or answers `code` with `<arn> <phrase>.`. */
export type KeyStateRule =
  | { readonly allowed: true; readonly note?: string }
  | {
      readonly allowed: false;
      readonly code: KeyStateErrorCode;
      /** After the key ARN; `undefined` = the state's own phrase ({@link STATE_PHRASES}, e.g. `is pending import`). */
      readonly phrase?: string;
      /** Why the emulator picked this cell where the fact sheet allows more, or says N/A. */
      readonly note?: string;
    };

/** One row: a rule per key state. */
export type KeyStateRow = Readonly<Record<KeyState, KeyStateRule>>;

/** How a `KMSInvalidStateException` names each state: `<arn> is pending import.` [S1 key-state.md fn 5, 15]. */
export const STATE_PHRASES: Readonly<Record<KeyState, string>> = {
  Creating: 'is creating',
  Enabled: 'is enabled',
  Disabled: 'is disabled',
  PendingDeletion: 'is pending deletion',
  PendingImport: 'is pending import',
  PendingReplicaDeletion: 'is pending replica deletion',
  Unavailable: 'is unavailable',
  Updating: 'is updating',
};

// The cells. Names say what the fact sheet's table says.
const OK: KeyStateRule = { allowed: true };
/** `DisabledException`: `<arn> is disabled.` [S1 key-state.md fn 1]. */
const DISABLED: KeyStateRule = { allowed: false, code: 'DisabledException', phrase: 'is disabled' };
/** `KMSInvalidStateException` naming the key's state: `<arn> is pending import.` */
const INVALID: KeyStateRule = { allowed: false, code: 'KMSInvalidStateException' };
/** CancelKeyDeletion's `KMSInvalidStateException`: `<arn> is not pending deletion.` */
const NOT_PENDING: KeyStateRule = { allowed: false, code: 'KMSInvalidStateException', phrase: 'is not pending deletion' };

const CHOSEN_INVALID: KeyStateRule = {
  ...INVALID,
  note: 'the table allows DisabledException or KMSInvalidStateException [S1 key-state.md fn 1-3]; the emulator answers KMSInvalidStateException (INF)',
};
const NOT_APPLICABLE_INVALID: KeyStateRule = {
  ...INVALID,
  note: 'N/A in AWS: Unavailable is a custom-key-store state and multi-Region keys cannot live there [S2 CreateKey.MultiRegion]; reachable here only by seeding (INF)',
};
const DEFERRED: KeyStateRule = { allowed: true, note: 'the table says ✓ (deferred): the key is enabled when its key store reconnects; here at once (INF)' };
const ENDS_DISABLED: KeyStateRule = {
  allowed: true,
  note: 'the key ends up Disabled [S1 key-state.md][S2 CancelKeyDeletion]; INF: an EXTERNAL key that never had material returns to PendingImport',
};
/** Imported-material operations on a key pending deletion: `KMSInvalidStateException` [S1 key-state.md (2019) fn 8]. */
const IMPORT_PENDING_DELETION: KeyStateRule = {
  ...INVALID,
  note: 'imported-material operations on a key pending deletion answer KMSInvalidStateException [S1 key-state.md (2019 table) fn 8]',
};
/** A state AWS's tables do not list for the operation: the emulator refuses it (INF). */
const UNLISTED_INVALID: KeyStateRule = {
  ...INVALID,
  note: 'INF: not in AWS\'s tables for this operation (the state exists only for multi-Region keys); the emulator answers KMSInvalidStateException',
};
const IMPORT_WHILE_DISABLED: KeyStateRule = {
  ...INVALID,
  note: 'INF: the 2019 table allowed it; the current API reference says the key must be PendingImport or Enabled [S2 ImportKeyMaterial]',
};
const DELETE_WHILE_PENDING_DELETION: KeyStateRule = {
  allowed: true,
  note: 'the key state does not change [S2 DeleteImportedKeyMaterial]; INF for PendingReplicaDeletion',
};
const READ_ANY_STATE: KeyStateRule = { allowed: true, note: 'INF: a read, allowed in every state like DescribeKey (AWS\'s tables do not list ListKeyRotations)' };
const REPEAT_ONLY: KeyStateRule = {
  allowed: true,
  note: 'INF: only a repeat of the in-flight update (same key, same PrimaryRegion) succeeds, without change; any other call answers KMSInvalidStateException `<arn> is updating.`',
};

/**
 * One row in the fact sheet's column order (§1.4): Enabled, Disabled, PendingDeletion and
 * PendingReplicaDeletion (one column there), PendingImport, Unavailable, Creating, Updating.
 */
function row(
  enabled: KeyStateRule,
  disabled: KeyStateRule,
  pendingDeletion: KeyStateRule,
  pendingImport: KeyStateRule,
  unavailable: KeyStateRule,
  creating: KeyStateRule,
  updating: KeyStateRule,
): KeyStateRow {
  return {
    Enabled: enabled,
    Disabled: disabled,
    PendingDeletion: pendingDeletion,
    PendingReplicaDeletion: pendingDeletion,
    PendingImport: pendingImport,
    Unavailable: unavailable,
    Creating: creating,
    Updating: updating,
  };
}

/**
 * Operation × key state → rule, for the key the caller names (for ReplicateKey and
 * UpdatePrimaryRegion: the primary) [S1 key-state.md][fact sheet §1.4]. Read it against the fact
 * sheet row by row; cells with a `note` are the emulator's choices where AWS leaves one open.
 */
export const KEY_STATE_TABLE = {
  //                         Enabled  Disabled  PendingDeletion /         PendingImport  Unavailable              Creating  Updating
  //                                            PendingReplicaDeletion
  ReplicateKey:         row(OK,      DISABLED, CHOSEN_INVALID,           INVALID,       NOT_APPLICABLE_INVALID,  INVALID,  INVALID),
  DescribeKey:          row(OK,      OK,       OK,                       OK,            OK,                      OK,       OK),
  ListResourceTags:     row(OK,      OK,       OK,                       OK,            OK,                      OK,       OK),
  GetKeyPolicy:         row(OK,      OK,       OK,                       OK,            OK,                      OK,       OK),
  PutKeyPolicy:         row(OK,      OK,       OK,                       OK,            OK,                      OK,       OK),
  TagResource:          row(OK,      OK,       INVALID,                  OK,            OK,                      OK,       OK),
  UntagResource:        row(OK,      OK,       INVALID,                  OK,            OK,                      OK,       OK),
  ScheduleKeyDeletion:  row(OK,      OK,       INVALID,                  OK,            OK,                      OK,       INVALID),
  CancelKeyDeletion:    row(NOT_PENDING, NOT_PENDING, ENDS_DISABLED,     NOT_PENDING,   NOT_PENDING,             NOT_PENDING, NOT_PENDING),
  EnableKey:            row(OK,      OK,       INVALID,                  INVALID,       DEFERRED,                INVALID,  INVALID),
  // Not in the fact sheet's table: DisableKey follows EnableKey's row (INF).
  DisableKey:           row(OK,      OK,       INVALID,                  INVALID,       OK,                      INVALID,  INVALID),
  UpdatePrimaryRegion:  row(OK,      DISABLED, CHOSEN_INVALID,           INVALID,       NOT_APPLICABLE_INVALID,  INVALID,  REPEAT_ONLY),
  // Not in the fact sheet's §1.4 table: the imported-material operations (EXTERNAL keys; any other
  // origin answers UnsupportedOperationException before the table [S1 key-state.md (2019) fn 6, 9]),
  // from the 2019 key-state table [S1] and the API reference [S2][S26]; Creating and Updating (INF).
  GetParametersForImport:    row(OK, OK,                    IMPORT_PENDING_DELETION, OK, NOT_APPLICABLE_INVALID, UNLISTED_INVALID, UNLISTED_INVALID),
  ImportKeyMaterial:         row(OK, IMPORT_WHILE_DISABLED, IMPORT_PENDING_DELETION, OK, NOT_APPLICABLE_INVALID, UNLISTED_INVALID, UNLISTED_INVALID),
  DeleteImportedKeyMaterial: row(OK, OK,                    DELETE_WHILE_PENDING_DELETION, OK, NOT_APPLICABLE_INVALID, UNLISTED_INVALID, UNLISTED_INVALID),
  // RotateKeyOnDemand: on the primary of a multi-Region key; DisabledException is a modelled error [S2].
  RotateKeyOnDemand:         row(OK, DISABLED,              INVALID,                 INVALID, NOT_APPLICABLE_INVALID, INVALID, INVALID),
  ListKeyRotations:          row(READ_ANY_STATE, READ_ANY_STATE, READ_ANY_STATE, READ_ANY_STATE, READ_ANY_STATE, READ_ANY_STATE, READ_ANY_STATE),
} as const satisfies Readonly<Record<KeyOperationName, KeyStateRow>>;

/** The error a rule answers for the key `arn` in `state`. */
export function keyStateError(rule: Extract<KeyStateRule, { allowed: false }>, arn: string, state: KeyState): KmsApiError {
  return new KmsApiError(rule.code, `${arn} ${rule.phrase ?? STATE_PHRASES[state]}.`);
}

/**
 * Applies the table: returns when `operation` may run on a key in `state`.
 * @throws KmsApiError `DisabledException` or `KMSInvalidStateException` as the table says.
 */
export function checkKeyState(operation: KeyOperationName, key: { readonly arn: string; readonly state: KeyState }): void {
  const rule = KEY_STATE_TABLE[operation][key.state];
  if (!rule.allowed) throw keyStateError(rule, key.arn, key.state);
}

/** `KMSInvalidStateException` naming the key's own state (`<arn> is updating.`), for checks outside the table. */
export function invalidStateError(arn: string, state: KeyState): KmsApiError {
  return keyStateError(INVALID as Extract<KeyStateRule, { allowed: false }>, arn, state);
}
