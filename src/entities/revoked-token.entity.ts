import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** A token revoked by `logout`, kept until it would have expired anyway (then it is refused as expired). */
@Entity({ tableName: 'revoked_tokens' })
export class RevokedToken {
  /** The token's `jti` (or a digest of a token issued without one; see src/auth/tokens.ts). */
  @PrimaryKey({ type: 'text' })
  tokenId!: string;

  @Property({ type: 'uuid' })
  userId!: string;

  @Index()
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime' })
  revokedAt: Date = new Date();
}
