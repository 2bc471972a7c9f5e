#!/usr/bin/env node
// Entry point of the p2pemu command (package.json "bin"): runs the compiled CLI.
import { main } from '../dist/cli/main.js';

// `p2pemu dmesg MNT | head` closes our stdout early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`p2pemu: ${err?.stack ?? err}`);
    process.exitCode = 1;
  },
);
