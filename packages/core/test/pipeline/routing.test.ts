import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.ts';
import { dueTables } from '../../src/pipeline/flush-timer.ts';
import { TableRegistry, tableNameFor, topicsWanting } from '../../src/pipeline/routing.ts';

const config = validateConfig({
  kafka: { brokers: ['127.0.0.1:1'], groupId: 'g' },
  catalog: { type: 'filesystem', warehouse: '/tmp/wh' },
  tables: [
    { topic: 'orders', table: 'shop.orders' },
    { topicPattern: '^raw\\..*', table: 'raw.{topic}' },
  ],
  deadLetter: { topic: 'dlq' },
});

describe('TableRegistry', () => {
  it('routes by topic, then by pattern, and names pattern tables from the topic', () => {
    const r = new TableRegistry(config.tables);
    expect(r.route('orders')?.table).toBe('shop.orders');
    expect(r.route('other')).toBeUndefined();
    expect(r.tableFor('raw.clicks-v2')?.name).toBe('raw.raw_clicks_v2');
    expect(r.tableFor('raw.clicks-v2')).toBe(r.tableFor('raw.clicks-v2'));
    expect(r.names()).toEqual(['raw.raw_clicks_v2']);
    expect(tableNameFor('x.{topic}', 'a.b-c')).toBe('x.a_b_c');
  });
});

describe('topicsWanting', () => {
  it('keeps keys and headers only for the topics of the tables that want them', () => {
    const c = validateConfig({
      ...config,
      tables: [
        { topic: 'orders', table: 'shop.orders', key: { format: 'json' } },
        { topicPattern: '^raw\\..*', table: 'raw.{topic}', metadata: {} },
      ],
    });
    const keys = topicsWanting(c.tables, (t) => t.key.format !== 'none');
    const headers = topicsWanting(c.tables, (t) => t.metadata !== undefined);
    if (keys === false || headers === false) throw new Error('expected per-topic tests');
    expect([keys('orders'), keys('raw.a'), keys('other')]).toEqual([true, false, false]);
    expect([headers('orders'), headers('raw.a'), headers('other')]).toEqual([false, true, false]);
    expect(topicsWanting(config.tables, (t) => t.metadata !== undefined)).toBe(false);
  });
});

describe('dueTables', () => {
  it('is due after the interval, or at once while paused for memory; never twice', () => {
    const r = new TableRegistry(config.tables);
    const t = r.tableFor('orders');
    if (!t) throw new Error('no table');
    t.lastCommitAt = 1_000;
    expect(dueTables(r.all(), 2_000, 500, false)).toEqual([]); // nothing buffered
    t.buffer.push({ topic: 'orders', partition: 0, from: 0n, to: 1n, ipc: null, rows: 0 });
    expect(dueTables(r.all(), 1_400, 500, false)).toEqual([]);
    expect(dueTables(r.all(), 1_400, 500, true)).toEqual([t]);
    expect(dueTables(r.all(), 1_500, 500, false)).toEqual([t]);
    t.flushing = true;
    expect(dueTables(r.all(), 9_000, 500, true)).toEqual([]);
  });
});
