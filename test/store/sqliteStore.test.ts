import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/shared/clock.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import { runStoreContract } from './storeContract.js';

const dir = mkdtempSync(join(tmpdir(), 'miprox-store-'));
runStoreContract('sqlite', () => openSqliteStore(join(dir, 'contract.db'), systemClock));
