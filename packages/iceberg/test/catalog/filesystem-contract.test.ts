import { describe } from 'vitest';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { catalogContract } from './contract.ts';

describe('catalog contract: filesystem catalog over memory IO', () => {
  catalogContract(async () => ({
    catalog: new FilesystemCatalog({ warehouse: 'memory://wh', io: new MemoryFileIO() }),
    ns: 'db',
  }));
});
