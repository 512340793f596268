import { describe, expect, it } from 'vitest';
import { COMMIT_PAUSED, commitPauseFromEnv } from '../../src/commit/test-pause.ts';

describe('commitPauseFromEnv', () => {
  it('is off without the variables', () => {
    expect(commitPauseFromEnv({})).toBeUndefined();
  });

  it('pauses at the named steps only, logging one line each', async () => {
    const lines: string[] = [];
    const pause = commitPauseFromEnv(
      { KICE_TEST_COMMIT_PAUSE_AT: 'data, version-hint', KICE_TEST_COMMIT_PAUSE_MS: '0' },
      (l) => lines.push(l),
    );
    for (const step of ['data', 'manifests', 'manifest-list', 'metadata', 'version-hint'] as const)
      await pause?.({ step, table: 'ns.t', path: `/w/${step}` });
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: 30, msg: COMMIT_PAUSED, step: 'data', table: 'ns.t', path: '/w/data' },
      {
        level: 30,
        msg: COMMIT_PAUSED,
        step: 'version-hint',
        table: 'ns.t',
        path: '/w/version-hint',
      },
    ]);
  });

  it('pauses after the manifests when only the duration is set', async () => {
    const lines: string[] = [];
    const pause = commitPauseFromEnv({ KICE_TEST_COMMIT_PAUSE_MS: '0' }, (l) => lines.push(l));
    await pause?.({ step: 'data', table: 'ns.t', path: '/w/a' });
    await pause?.({ step: 'manifests', table: 'ns.t', path: '/w/m' });
    expect(lines.map((l) => JSON.parse(l).step)).toEqual(['manifests']);
  });

  it('names the variable and the known steps on a bad value', () => {
    expect(() => commitPauseFromEnv({ KICE_TEST_COMMIT_PAUSE_AT: 'metadata,hint' })).toThrow(
      'KICE_TEST_COMMIT_PAUSE_AT: unknown step(s) hint (steps: data, manifests, manifest-list, metadata, version-hint)',
    );
    expect(() => commitPauseFromEnv({ KICE_TEST_COMMIT_PAUSE_MS: 'soon' })).toThrow(
      'KICE_TEST_COMMIT_PAUSE_MS: expected milliseconds, got "soon"',
    );
  });
});
