import type { Command } from 'commander';
import { describeDatabase, loadConfig } from '../config/config.js';
import { CliError } from './cliError.js';
import { portNumber } from './clientOptions.js';
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
        // The one start-up failure people cause by hand (a second `serve`, another program on the port): say what to do.
        if ((err as { code?: string }).code !== 'EADDRINUSE') throw databaseOpenError(err, config.database) ?? err;
        throw new CliError(`port ${config.port} on ${config.host} is already in use (another miprox serve, or another program): stop it, or choose a port with --port or PORT`, 'port_in_use');
      });
      installSignalHandlers(server, (m) => process.stderr.write(`miprox: ${m}\n`));
      // The database is named in full: `miprox keys` must be pointed at the same one (see README).
      process.stdout.write(`miprox listening on ${server.url} (database: ${describeDatabase(config.database)})\n`);
    });
}
