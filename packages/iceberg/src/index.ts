/**
 * @kice/iceberg — the Apache Iceberg table format (v2) in TypeScript.
 * Curated public API; deep imports are not part of the contract.
 */
export * from './errors.ts';
export * from './spec/types.ts';
