import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Role, type User } from '../entities/user.entity';
import { unauthenticated } from '../errors';
import type { GqlContext } from '../schema/context';
import { AuthPayload, RegisterInput, UserType } from '../schema/types/user.type';

const userView = (u: User): UserType => ({ id: u.id, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt.toISOString() });

@Resolver()
export class UserResolver {
  @Query(() => UserType, { nullable: true, description: 'The signed-in user, or null when anonymous.' })
  async me(@Ctx() ctx: GqlContext): Promise<UserType | null> {
    if (!ctx.viewer) return null;
    const user = await ctx.services.users.findById(ctx.viewer.id);
    return user ? userView(user) : null;
  }

  @Mutation(() => AuthPayload, { description: 'Creates a customer account. A taken email (any case) is CONFLICT.' })
  async register(@Arg('input', () => RegisterInput) input: RegisterInput, @Ctx() ctx: GqlContext): Promise<AuthPayload> {
    const r = await ctx.services.users.register(input);
    return { token: r.token, user: userView(r.user) };
  }

  @Mutation(() => AuthPayload, { description: 'Wrong email or password is UNAUTHENTICATED.' })
  async login(@Arg('email') email: string, @Arg('password') password: string, @Ctx() ctx: GqlContext): Promise<AuthPayload> {
    const r = await ctx.services.users.login(email, password);
    return { token: r.token, user: userView(r.user) };
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => UserType, {
    nullable: true,
    description: "Admins: sets a user's role. Their open connections on every instance are re-authorized within a second "
      + '(subscriptions and rooms they may no longer have end with FORBIDDEN). Unknown user: NOT_FOUND.',
  })
  async updateUserRole(@Arg('userId', () => ID) userId: string, @Arg('role', () => Role) role: Role, @Ctx() ctx: GqlContext): Promise<UserType | null> {
    return userView(await ctx.services.users.updateRole(userId, role));
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Deletes the signed-in account: its personal data is wiped, its orders stay (anonymised), every token of it '
      + 'stops working and its connections close.',
  })
  deleteAccount(@Ctx() ctx: GqlContext): Promise<boolean> {
    return ctx.services.users.deleteAccount(ctx.viewer!);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: 'Revokes the token this request presents: afterwards it is UNAUTHENTICATED everywhere and the connections '
      + "opened with it close. The user's other tokens keep working.",
  })
  logout(@Ctx() ctx: GqlContext): Promise<boolean> {
    if (!ctx.token) throw unauthenticated();
    return ctx.services.users.logout({ viewer: ctx.viewer!, tokenId: ctx.token.id, expiresAt: ctx.token.expiresAt });
  }
}

