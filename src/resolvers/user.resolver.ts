import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { User } from '../entities/user.entity';
import type { GqlContext } from '../schema/context';
import { AuthPayload, RegisterInput, UserType } from '../schema/types/user.type';

export const userView = (u: User): UserType => ({ id: u.id, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt.toISOString() });

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
}

export { Authorized };
