/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}": typeof types.LoginDocument,
    "query Products($first: Int, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        id\n        name\n        brand\n        category\n        price\n        inStock\n        variants {\n          size\n          color\n          stock\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      hasPreviousPage\n      startCursor\n      endCursor\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    id\n    name\n    description\n    brand\n    category\n    price\n    basePrice\n    lowStockThreshold\n    totalStock\n    inStock\n    variants {\n      id\n      size\n      color\n      sku\n      stock\n      inStock\n    }\n  }\n}\n\nmutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    name\n    brand\n    category\n    price\n    variants {\n      size\n      color\n      sku\n      stock\n    }\n  }\n}\n\nmutation UpdateProduct($id: ID!, $input: UpdateProductInput!) {\n  updateProduct(id: $id, input: $input) {\n    id\n    name\n    description\n    price\n    basePrice\n    lowStockThreshold\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}\n\nmutation AdjustStock($productId: ID!, $variant: VariantInput!, $delta: Int!) {\n  adjustStock(productId: $productId, variant: $variant, delta: $delta) {\n    id\n    totalStock\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}": typeof types.ProductsDocument,
};
const documents: Documents = {
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}": types.LoginDocument,
    "query Products($first: Int, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        id\n        name\n        brand\n        category\n        price\n        inStock\n        variants {\n          size\n          color\n          stock\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      hasPreviousPage\n      startCursor\n      endCursor\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    id\n    name\n    description\n    brand\n    category\n    price\n    basePrice\n    lowStockThreshold\n    totalStock\n    inStock\n    variants {\n      id\n      size\n      color\n      sku\n      stock\n      inStock\n    }\n  }\n}\n\nmutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    name\n    brand\n    category\n    price\n    variants {\n      size\n      color\n      sku\n      stock\n    }\n  }\n}\n\nmutation UpdateProduct($id: ID!, $input: UpdateProductInput!) {\n  updateProduct(id: $id, input: $input) {\n    id\n    name\n    description\n    price\n    basePrice\n    lowStockThreshold\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}\n\nmutation AdjustStock($productId: ID!, $variant: VariantInput!, $delta: Int!) {\n  adjustStock(productId: $productId, variant: $variant, delta: $delta) {\n    id\n    totalStock\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}": types.ProductsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}"): (typeof documents)["mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      id\n      email\n      role\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Products($first: Int, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        id\n        name\n        brand\n        category\n        price\n        inStock\n        variants {\n          size\n          color\n          stock\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      hasPreviousPage\n      startCursor\n      endCursor\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    id\n    name\n    description\n    brand\n    category\n    price\n    basePrice\n    lowStockThreshold\n    totalStock\n    inStock\n    variants {\n      id\n      size\n      color\n      sku\n      stock\n      inStock\n    }\n  }\n}\n\nmutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    name\n    brand\n    category\n    price\n    variants {\n      size\n      color\n      sku\n      stock\n    }\n  }\n}\n\nmutation UpdateProduct($id: ID!, $input: UpdateProductInput!) {\n  updateProduct(id: $id, input: $input) {\n    id\n    name\n    description\n    price\n    basePrice\n    lowStockThreshold\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}\n\nmutation AdjustStock($productId: ID!, $variant: VariantInput!, $delta: Int!) {\n  adjustStock(productId: $productId, variant: $variant, delta: $delta) {\n    id\n    totalStock\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}"): (typeof documents)["query Products($first: Int, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        id\n        name\n        brand\n        category\n        price\n        inStock\n        variants {\n          size\n          color\n          stock\n        }\n      }\n    }\n    pageInfo {\n      hasNextPage\n      hasPreviousPage\n      startCursor\n      endCursor\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    id\n    name\n    description\n    brand\n    category\n    price\n    basePrice\n    lowStockThreshold\n    totalStock\n    inStock\n    variants {\n      id\n      size\n      color\n      sku\n      stock\n      inStock\n    }\n  }\n}\n\nmutation CreateProduct($input: CreateProductInput!) {\n  createProduct(input: $input) {\n    id\n    name\n    brand\n    category\n    price\n    variants {\n      size\n      color\n      sku\n      stock\n    }\n  }\n}\n\nmutation UpdateProduct($id: ID!, $input: UpdateProductInput!) {\n  updateProduct(id: $id, input: $input) {\n    id\n    name\n    description\n    price\n    basePrice\n    lowStockThreshold\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}\n\nmutation AdjustStock($productId: ID!, $variant: VariantInput!, $delta: Int!) {\n  adjustStock(productId: $productId, variant: $variant, delta: $delta) {\n    id\n    totalStock\n    variants {\n      size\n      color\n      stock\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;