import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const INDEX = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

/** Runs `body` in a fresh Node process with @kice/iceberg imported as `iceberg`; returns
 * whether the AWS SDK's S3 package was loaded by then. */
function probe(body: string): { loaded: boolean } {
  const script = `
    import Module from 'node:module';
    const iceberg = await import(${JSON.stringify(INDEX)});
    ${body}
    const loaded = Object.keys(Module._cache).some((k) => k.includes('@aws-sdk/client-s3'));
    console.log(JSON.stringify({ loaded }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const { loaded } = JSON.parse(out.trim().split('\n').pop() as string);
  return { loaded };
}

describe('S3 SDK loading', () => {
  it('is not loaded by importing the package or making an S3FileIO', () => {
    const { loaded } = probe(`new iceberg.S3FileIO({ region: 'us-east-1' });`);
    expect(loaded).toBe(false);
  });

  it('is loaded at the S3FileIO client first use', () => {
    const { loaded } = probe(`new iceberg.S3FileIO({ region: 'us-east-1' }).client;`);
    expect(loaded).toBe(true);
  });
});
