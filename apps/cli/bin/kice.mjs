#!/usr/bin/env node
// The kice binary: registers the TypeScript loader (sources run as they are, no build
// step), then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
