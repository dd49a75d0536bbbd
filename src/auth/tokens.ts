import jwt from 'jsonwebtoken';
import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { AppError, ErrorCode } from '../errors';
import type { Role } from '../entities/user.entity';

export interface TokenClaims {
  sub: string;
  role: Role;
}

/** Verified claims and when the token expires (ms since the epoch; Infinity without `exp`). */
export interface VerifiedToken extends TokenClaims {
  expiresAt: number;
  /**
   * What `logout` revokes: the token's `jti`, or for a token issued without one a digest of the
   * token itself, so every valid token can be revoked.
   */
  tokenId: string;
}

export interface TokenSettings {
  /** Built once (createSecretKey): jsonwebtoken would otherwise re-derive a key object per call. */
  secret: KeyObject;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/**
 * HS256 only: the algorithm is pinned on both sides, so `alg: none` and RS/HS confusion fail. The
 * `role` claim is informational: authorization always reads the user's current role.
 */
export function signToken(settings: TokenSettings, claims: TokenClaims): string {
  return jwt.sign({ role: claims.role }, settings.secret, {
    algorithm: 'HS256',
    jwtid: randomUUID(),
    subject: claims.sub,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: settings.ttlSeconds,
  });
}

export function verifyToken(settings: TokenSettings, token: string): VerifiedToken {
  try {
    const decoded = jwt.verify(token, settings.secret, {
      algorithms: ['HS256'],
      issuer: settings.issuer,
      audience: settings.audience,
    });
    if (typeof decoded === 'string' || typeof decoded.sub !== 'string') {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'Invalid token');
    }
    return {
      sub: decoded.sub,
      role: decoded.role as Role,
      expiresAt: typeof decoded.exp === 'number' ? decoded.exp * 1000 : Infinity,
      tokenId: typeof decoded.jti === 'string' && decoded.jti ? decoded.jti : `sha256:${createHash('sha256').update(token).digest('base64url')}`,
    };
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof jwt.TokenExpiredError) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Token expired');
    throw new AppError(ErrorCode.UNAUTHENTICATED, 'Invalid token');
  }
}

/**
 * Pulls a bearer token out of the shapes clients send: `Bearer x`, `bearer x` or a bare token.
 * Returns undefined when nothing usable was sent (anonymous).
 */
export function extractBearer(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (!v) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(v);
  return (m ? m[1] : v).trim() || undefined;
}
