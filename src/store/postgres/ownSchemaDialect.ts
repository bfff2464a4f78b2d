import { type DatabaseIntrospector, type DatabaseMetadataOptions, type Kysely, PostgresDialect, type PostgresDialectConfig, PostgresIntrospector, type TableMetadata, sql } from 'kysely';

/**
 * PostgreSQL as miprox uses it: one schema of its own, in a database that other applications may
 * share. Kysely's migrator looks for its tables through the dialect's introspector, which lists every
 * column of every schema and resolves each by name (`pg_get_serial_sequence`) against a catalog newer
 * than its snapshot: any other application's migration renaming or dropping a column at that moment
 * failed miprox's start with "column ... does not exist", retries or not (under a busy database
 * several in a row). This introspector lists the tables of miprox's schema only, by name.
 */
export function ownSchemaPostgresDialect(config: PostgresDialectConfig, schema: string): PostgresDialect {
  return new OwnSchemaPostgresDialect(config, schema);
}

class OwnSchemaPostgresDialect extends PostgresDialect {
  constructor(config: PostgresDialectConfig, private readonly schema: string) {
    super(config);
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new OwnSchemaIntrospector(db, this.schema);
  }
}

class OwnSchemaIntrospector extends PostgresIntrospector {
  constructor(private readonly kysely: Kysely<unknown>, private readonly schema: string) {
    super(kysely);
  }

  /** The schema's tables and views, names only (`columns` empty): the migrator reads nothing more. */
  override async getTables(_options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    const rows = await sql<{ name: string; is_view: boolean }>`
      select c.relname as name, c.relkind in ('v', 'm') as is_view
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${this.schema} and c.relkind in ('r', 'p', 'v', 'm')
      order by c.relname`.execute(this.kysely);
    return rows.rows.map((r) => ({ name: r.name, schema: this.schema, isView: r.is_view, columns: [] }));
  }
}
