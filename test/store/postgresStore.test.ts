import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { runStoreContract } from './storeContract.js';

const schema = uniqueSchema('contract');
runStoreContract('postgres', () => openPostgresStore(PG_URL, schema, systemClock), () => dropPostgresSchema(PG_URL, schema));
