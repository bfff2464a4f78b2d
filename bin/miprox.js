#!/usr/bin/env node
// In a checkout (src/ present) runs the TypeScript source through tsx, so the CLI is never an older
// build than the code beside it (`npm install` builds dist/ through `prepare`); in an installed
// package (no src/) runs the compiled CLI.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
if (existsSync(source) || !existsSync(compiled)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(compiled).href);
}
