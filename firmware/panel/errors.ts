import { FirmwareError } from '../errors.ts';

export type PanelErrorCode =
  /** A request to the panel's sim socket (or an option) is malformed: the message names the field. */
  | 'PANEL_BAD_REQUEST'
  /** A socket the panel talks to (cluster, supervisor, the panel's sim socket) does not answer. */
  | 'PANEL_UNREACHABLE'
  /** The other end answered with an error. */
  | 'PANEL_REFUSED'
  /** The other end answered with something that is not what its protocol promises. */
  | 'PANEL_BAD_ANSWER'
  /** The board cannot run a panel (no panel feature, no simulated chip where one is needed). */
  | 'PANEL_UNSUPPORTED'
  /** The panel was closed. */
  | 'PANEL_CLOSED';

export class PanelError extends FirmwareError<PanelErrorCode> {
  override readonly name = 'PanelError';

  static is(err: unknown, code?: PanelErrorCode): err is PanelError {
    return err instanceof PanelError && (code === undefined || err.code === code);
  }
}
