/** A board definition that cannot be used. `field` is the dotted path of the first bad field. */
export class BoardError extends Error {
  override readonly name = 'BoardError';
  readonly code: 'BOARD_INVALID' | 'BOARD_NOT_FOUND' | 'BOARD_UNREADABLE';
  readonly field: string | undefined;

  constructor(code: BoardError['code'], message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}
