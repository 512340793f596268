/**
 * Compression codecs for kafkajs, registered before any client connects.
 *
 * kafkajs ships only GZIP; a record batch in an unregistered codec crashes the consumer
 * without restart (KafkaJSNotImplemented). Users' topics use snappy, lz4 and zstd, so all
 * three are registered here:
 * - snappy: kafkajs-snappy (pure JS, handles the xerial framing the Java client writes);
 * - lz4: @2l/kafkajs-lz4 (lz4-napi, prebuilt binaries from npm);
 * - zstd: decompression with fzstd (pure JS); no JS compressor is a dependency, so producing
 *   zstd batches throws (the broker can still recompress with a topic's compression.type=zstd).
 */
import { createRequire } from 'node:module';
import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';
import { KiceError } from '../errors.ts';

/** The shape kafkajs expects from a codec instance. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// Both packages are CommonJS with `module.exports = <factory or class>`: load them through
// require so the runtime value matches (their typings describe an ES default export).
const require = createRequire(import.meta.url);
const snappyFactory = require('kafkajs-snappy') as () => KafkaCodec;
const LZ4Codec = require('@2l/kafkajs-lz4') as new () => { codec: () => KafkaCodec };

/**
 * The zstd codec: decompresses one or more concatenated Zstandard frames with fzstd.
 * Compression is not supported and rejects with a KiceError.
 */
export const zstdCodec: KafkaCodec = {
  compress(): Promise<Buffer> {
    return Promise.reject(
      new KiceError(
        'KAFKA',
        'zstd compression is not supported by kice (no JS zstd compressor); use snappy, lz4 or gzip',
      ),
    );
  },
  decompress(buffer: Buffer): Promise<Buffer> {
    try {
      const out = zstdDecompress(buffer);
      return Promise.resolve(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    } catch (e) {
      return Promise.reject(
        new KiceError('KAFKA', `zstd decompression failed: ${(e as Error).message}`, { cause: e }),
      );
    }
  },
};

/** The snappy codec (kafkajs-snappy). */
export const snappyCodec: KafkaCodec = snappyFactory();
/** The lz4 codec (@2l/kafkajs-lz4). */
export const lz4Codec: KafkaCodec = new LZ4Codec().codec();

let registered = false;

/**
 * Registers snappy, lz4 and zstd in kafkajs's global codec table. Idempotent; call it before
 * creating or connecting any kafkajs client.
 */
export function registerCodecs(): void {
  if (registered) return;
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
  registered = true;
}
