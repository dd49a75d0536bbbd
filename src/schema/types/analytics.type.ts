import { ArgsType, Field, ID, Int } from 'type-graphql';

@ArgsType()
export class TrackProductViewArgs {
  @Field(() => ID) productId!: string;
  @Field(() => String, { nullable: true, description: "The shop section it was viewed in; the product's category when omitted." })
  category?: string | null;
  @Field(() => Int, { nullable: true, description: 'Milliseconds on the page, 0–86400000.' }) duration?: number | null;
}

/** The mutations answer with the payload admins receive. */
