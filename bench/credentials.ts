/**
 * The principals of the benchmark: static credentials for the embedded KMS (which reads the
 * Region and the access key id from the SigV4 scope and checks no signature). Kept apart from
 * `harness.ts` so that the bundled sweep process (`sweep-process.ts`) imports no emulator code.
 */

/** Static credentials of a principal calling the embedded KMS. */
export interface BenchCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The account of every key. */
export const ACCOUNT = '111122223333';
/** The reconciler's role, and the access key its calls are signed with. */
export const RECONCILER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/kms-replica-reconciler-bench`;
export const RECONCILER_CREDENTIALS: BenchCredentials = { accessKeyId: 'AKIABENCHRECONCILER1', secretAccessKey: 'bench' };
/** A key administrator: the person whose calls trigger the reconciler. */
export const ADMIN_CREDENTIALS: BenchCredentials = { accessKeyId: 'AKIABENCHKEYADMIN001', secretAccessKey: 'bench' };
/** The naive strategies' principal. */
export const NAIVE_CREDENTIALS: BenchCredentials = { accessKeyId: 'AKIABENCHNAIVE000001', secretAccessKey: 'bench' };
