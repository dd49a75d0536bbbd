import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Role } from '../../entities/user.entity';

registerEnumType(Role, { name: 'Role' });

@ObjectType('User')
export class UserType {
  @Field(() => ID) id!: string;
  @Field() email!: string;
  @Field() name!: string;
  @Field(() => Role) role!: Role;
  @Field() createdAt!: string;
}

@ObjectType()
export class AuthPayload {
  @Field() token!: string;
  @Field(() => UserType) user!: UserType;
}

@InputType()
export class RegisterInput {
  @Field() email!: string;
  @Field() password!: string;
  @Field() name!: string;
}
