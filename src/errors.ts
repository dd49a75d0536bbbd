/** The one catalogue of error codes clients see, on every transport. */
export const ErrorCode = {
  /** A request the server cannot read: malformed or oversized body, refused as cross-site (CSRF). */
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  RESYNC_REQUIRED: 'RESYNC_REQUIRED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Safe default message per code: what a client sees when the thrower gives none. */
export const errorMessages: Record<ErrorCode, string> = {
  BAD_REQUEST: 'Malformed request',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'You are not allowed to do this',
  BAD_USER_INPUT: 'Invalid input',
  NOT_FOUND: 'Not found',
  INSUFFICIENT_STOCK: 'Not enough stock',
  CONFLICT: 'Conflict',
  RATE_LIMITED: 'Too many requests, slow down',
  RESYNC_REQUIRED: 'Cannot resume from this event id: refetch and subscribe again',
  INTERNAL_SERVER_ERROR: 'Internal server error',
};

export interface FieldError {
  path: string;
  message: string;
}

/** A failure whose code and message are safe to show to the client. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = errorMessages[code],
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (message: string, fields?: FieldError[]) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, fields ? { fields } : undefined);
export const notFound = (what: string, id?: string) =>
  new AppError(ErrorCode.NOT_FOUND, `${what} not found`, id ? { id } : undefined);
export const forbidden = (message?: string) => new AppError(ErrorCode.FORBIDDEN, message);
export const unauthenticated = (message?: string) => new AppError(ErrorCode.UNAUTHENTICATED, message);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError(ErrorCode.CONFLICT, message, details);

/** What a client may see of any thrown value: AppErrors as they are, anything else masked. */
export function toClientError(err: unknown): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
  if (err instanceof AppError) return { code: err.code, message: err.message, details: err.details };
  return { code: ErrorCode.INTERNAL_SERVER_ERROR, message: errorMessages.INTERNAL_SERVER_ERROR };
}
