import { FirmwareError } from '../errors.ts';

export type SupervisorErrorCode =
  /** The service table is unusable: a duplicate name, an unknown need, a dependency cycle. */
  | 'SUPERVISOR_INVALID_SPEC'
  /** A control request names no such service, or an op the supervisor does not know. */
  | 'SUPERVISOR_BAD_REQUEST'
  /** The request cannot be carried out now (e.g. a restart during shutdown). */
  | 'SUPERVISOR_BUSY'
  | 'SUPERVISOR_FAILED';

export class SupervisorError extends FirmwareError<SupervisorErrorCode> {
  override readonly name = 'SupervisorError';
}
