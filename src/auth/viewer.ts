import type { Role } from '../entities/user.entity';

/** Who is calling, as every transport sees it. Null means anonymous. */
export interface Viewer {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export const isAdmin = (v: Viewer | null | undefined): boolean => v?.role === 'ADMIN';
