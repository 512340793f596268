import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startCommitterHost, startCommitterThread } from '../../src/commit/committer-client.ts';
import type { CommitterThreadData } from '../../src/workers/committer-thread.ts';

const DYING = fileURLToPath(new URL('./fixtures/dying-thread.mjs', import.meta.url));

// The thread never reads these options: it dies at the first call.
const options = (die: 'throw' | 'exit') => ({ die }) as unknown as CommitterThreadData;

describe('committer thread death', () => {
  it('rejects the pending call and later ones with the thread error, and does not crash the process', async () => {
    const c = startCommitterThread(DYING, options('throw'));
    await expect(c.api.tableState('db.t')).rejects.toThrow(
      'committer thread failed: committer thread blew up',
    );
    await expect(c.api.tableState('db.t')).rejects.toThrow(
      'committer thread failed: committer thread blew up',
    );
    await c.close();
  });

  it('rejects calls when the thread exits', async () => {
    const c = startCommitterThread(DYING, options('exit'));
    await expect(c.api.tableState('db.t')).rejects.toThrow('committer thread exited with code 3');
    await c.close();
  });

  it('fails every committer of a host thread that dies', async () => {
    const host = startCommitterHost(DYING);
    const a = host.open(options('throw'));
    const b = host.open(options('throw'));
    const pending = b.api.tableState('db.u');
    await expect(a.api.tableState('db.t')).rejects.toThrow(
      'committer thread failed: committer thread blew up',
    );
    await expect(pending).rejects.toThrow('committer thread failed: committer thread blew up');
    await host.close();
  });
});
