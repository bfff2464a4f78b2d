import type { Command } from 'commander';
import { describeDatabase, loadConfig } from '../config/config.js';
import { CliError } from './cliError.js';
import { portNumber } from './clientOptions.js';
import { databaseFileModeWarning } from './databaseFileMode.js';
import { databaseOpenError } from './databaseOpenError.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the miprox server (configuration from the environment; see README)')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)', portNumber)
    .option('--host <host>', 'address to bind (overrides HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      // Loaded on use: client commands (jobs, candidates) should not pay for the server's start-up.
      const { installSignalHandlers, startServer } = await import('../main.js');
      const config = loadConfig({ ...process.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) });
      const server = await startServer(config).catch((err: unknown) => {
        // The start-up failures people cause by hand (a second `serve`, another program on the port,
        // a HOST this machine does not have): say which setting and what to do.
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE') {
          throw new CliError(`port ${config.port} on ${config.host} is already in use (another miprox serve, or another program): stop it, or choose a port with --port or PORT`, 'port_in_use');
        }
        // The database's own failures first: its host not resolving is a lookup failure too.
        const database = databaseOpenError(err, config.database);
        if (database) throw database;
        // Node said only "getaddrinfo ENOTFOUND <host>" or "listen EADDRNOTAVAIL ...", naming neither HOST nor --host.
        if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL') {
          const why = code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : 'is not a name this machine can resolve';
          throw new CliError(`cannot listen on ${config.host}: it ${why}; set HOST or --host to one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for all)`, 'host_unavailable');
        }
        throw err;
      });
      installSignalHandlers(server, (m) => process.stderr.write(`miprox: ${m}\n`));
      const exposure = databaseFileModeWarning(config.database);
      if (exposure) process.stderr.write(`miprox: ${exposure}\n`);
      // The database is named in full: `miprox keys` must be pointed at the same one (see README).
      process.stdout.write(`miprox listening on ${server.url} (database: ${describeDatabase(config.database)})\n`);
    });
}
