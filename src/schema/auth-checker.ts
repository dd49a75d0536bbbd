import type { AuthCheckerFn } from 'type-graphql';
import { AppError, ErrorCode } from '../errors';
import type { GqlContext } from './context';

/** `@Authorized()` needs a signed-in viewer; `@Authorized('ADMIN')` an admin. Coded errors, not `false`. */
export const authChecker: AuthCheckerFn<GqlContext> = ({ context }, roles) => {
  if (!context.viewer) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
  if (roles.length && !roles.includes(context.viewer.role)) throw new AppError(ErrorCode.FORBIDDEN, 'Admins only');
  return true;
};
