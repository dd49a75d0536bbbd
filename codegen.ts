import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen`: builds, writes `schema.graphql` from the code (scripts/print-schema.ts — codegen
 * cannot load the type-graphql schema from TypeScript itself), then generates typed documents for
 * the operations the tests run (`test/operations/*.graphql` → `test/generated/`).
 */
const config: CodegenConfig = {
  overwrite: true,
  schema: 'schema.graphql',
  documents: ['test/operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, gqlTagName: 'graphql' },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        onlyOperationTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: false },
        scalars: { ID: 'string' },
      },
    },
  },
};

export default config;
