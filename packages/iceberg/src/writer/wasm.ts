/**
 * parquet-wasm, loaded on first use. Its Node build compiles and instantiates the
 * WebAssembly module when it is imported, which costs every thread that loads it about
 * 17 MB of resident memory; threads that never read or write Parquet (kice's coordinator
 * and committer) should not pay for it, so nothing imports it eagerly.
 */
import { createRequire } from 'node:module';

export type ParquetWasm = typeof import('parquet-wasm');

let loaded: ParquetWasm | undefined;

/** The parquet-wasm module (Node build), instantiated on the first call. */
export function parquetWasm(): ParquetWasm {
  loaded ??= createRequire(import.meta.url)('parquet-wasm') as ParquetWasm;
  return loaded;
}
