import { Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { VariantInput } from '../../events/payloads/common.payload';

enum CartBatchAction {
  add = 'add',
  remove = 'remove',
  set = 'set',
}

registerEnumType(CartBatchAction, {
  name: 'CartBatchAction',
  description: "add: more units; set: the line's quantity (0 removes); remove: the whole line.",
});

/** One item of `updateCart`, the same shape as an item of the `cart_batch_update` socket command. */
@InputType()
export class CartBatchItemInput {
  @Field(() => CartBatchAction) action!: CartBatchAction;
  @Field(() => ID) productId!: string;
  @Field(() => VariantInput) variant!: VariantInput;
  @Field(() => Int, { nullable: true, description: 'Required for add (1–99) and set (0–99); omitted for remove.' })
  quantity?: number | null;
}

