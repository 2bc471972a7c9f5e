#!/usr/bin/env node
// Entry point of the p2pemu command (package.json "bin"): runs the compiled CLI.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`p2pemu: ${err?.stack ?? err}`);
    process.exitCode = 1;
  },
);
